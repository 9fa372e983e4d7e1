"""What each path imports and runs: the application's start-up and the migration
commands pay only for what they use. (Timings are in `make bench`, never here.)"""

import pytest
from helpers import ENGINE_VARIANTS, answers_id

EXPLODING = 'raise RuntimeError("{} was imported")\n'


def test_importing_the_models_does_not_import_alembic(project):
    project = project()
    assert project.program("imports_of_models").stdout.strip() == "False"


def test_only_commands_that_need_the_models_import_them(project):
    """current and history read; check and revision compare the models, and
    upgrade and downgrade name constraints by their naming convention."""
    project = project()
    project.alembic("upgrade", "head")
    models = project.path / "my_program" / "models.py"
    models.write_text(EXPLODING.format("models.py"))
    for command in (["current"], ["history"]):
        project.alembic(*command)
    for command in (
        ["upgrade", "head"],
        ["downgrade", "-1"],
        ["check"],
        ["revision", "--autogenerate", "-m", "x"],
    ):
        result = project.alembic(*command, check=False)
        assert result.returncode != 0
        assert "models.py was imported" in result.stderr


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
@pytest.mark.parametrize("at_head", [True, False], ids=["at-head", "behind"])
def test_upgrade_at_head_is_one_read_without_alembics_environment(project, at_head, engine):
    project = project(**engine)
    project.alembic("upgrade", "head" if at_head else "6ed9f93df750")
    env_py = project.path / "my_program" / "migrations" / "env.py"
    env_py.write_text(EXPLODING.format("env.py"))
    result = project.program("upgrade", check=False)
    assert (result.returncode == 0) is at_head, result.stderr
    assert ("env.py was imported" in result.stderr) is not at_head

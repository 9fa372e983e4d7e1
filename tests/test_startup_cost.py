"""What each path imports and runs: the application's start-up and the migration
commands pay only for what they use. (Timings are in `make bench`, never here.)"""

import os

import pytest
from helpers import CREATE_ACCOUNT, ENGINE_VARIANTS, answers_id

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
def test_upgrade_at_head_is_one_read_without_alembic(project, tmp_path, at_head, engine):
    """At start-up, upgrade() at head reads the database once and imports no
    Alembic at all (head.txt names the head); behind, it needs Alembic."""
    project = project(**engine)
    project.alembic("upgrade", "head" if at_head else CREATE_ACCOUNT)
    shadow = tmp_path / "no-alembic" / "alembic"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(EXPLODING.format("alembic"))
    env = {"PYTHONPATH": os.pathsep.join([str(shadow.parent), str(project.path)])}
    for function in ("upgrade", "upgrade_async"):
        result = project.program("upgrade_with_timeouts", function, 5, 60, check=False, env=env)
        assert (result.returncode == 0) is at_head, result.stderr
        assert ("alembic was imported" in result.stderr) is not at_head

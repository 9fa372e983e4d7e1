"""CI configuration, the template's and the rendered project's: valid by GitHub's
workflow schema (as shipped with check-jsonschema, offline), and pre-commit working."""

import pytest
from helpers import BIN, TEMPLATE_ROOT, git, git_commit_all

DATABASES = ["sqlite", "postgresql", "mysql"]


def validate_workflows(project, *files) -> None:
    project.run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)


def test_the_templates_own_workflows_are_valid(project):
    workflows = sorted((TEMPLATE_ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows, "the template has a CI workflow"
    validate_workflows(project(), *workflows)


@pytest.mark.parametrize("database", DATABASES)
def test_rendered_workflows_are_valid_and_test_the_chosen_server(project, database):
    project = project(database=database)
    workflows = project.path / ".github" / "workflows"
    expected = {"tests.yml"} | ({f"tests-{database}.yml"} if database != "sqlite" else set())
    assert {path.name for path in workflows.iterdir()} == expected
    validate_workflows(project, *sorted(workflows.iterdir()))
    # GitHub's ${{ }} expressions pass through Copier's << >> untouched.
    assert "python-version: ${{ matrix.python-version }}" in (workflows / "tests.yml").read_text()
    if database != "sqlite":
        server_workflow = (workflows / f"tests-{database}.yml").read_text()
        assert f"{project.test_url_env}: {database}+" in server_workflow
        assert f"pip install -e '.[{database}]'" in server_workflow


def test_no_workflows_when_declined(rendered):
    assert not (rendered(github_actions=False) / ".github").exists()


def test_pre_commit_runs_ruff_on_the_rendered_project(project, tmp_path_factory):
    """Clean as rendered; a badly formatted file is caught and fixed."""
    project = project()
    project.env["PRE_COMMIT_HOME"] = str(tmp_path_factory.getbasetemp() / "pre-commit")
    git("init", "--quiet", cwd=project.path)
    git_commit_all(project.path, "Copied")
    pre_commit = [BIN / "pre-commit", "run", "--all-files"]

    assert "ruff format" in project.run(*pre_commit).stdout

    sloppy = project.path / "my_program" / "sloppy.py"
    sloppy.write_text("x=1;y=2\n")
    git("add", "--all", cwd=project.path)
    result = project.run(*pre_commit, check=False)
    assert result.returncode == 1
    assert "files were modified by this hook" in result.stdout
    assert sloppy.read_text() == "x = 1\ny = 2\n"

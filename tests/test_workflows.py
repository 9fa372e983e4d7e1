"""CI configuration, the template's and the rendered project's: valid by GitHub's
workflow schema (as shipped with check-jsonschema, offline), and pre-commit working."""

from pathlib import Path

import pytest
import yaml
from sqlalchemy import URL, make_url

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
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
    expected = {"tests.yml"} if database == "sqlite" else {"lint.yml", f"tests-{database}.yml"}
    assert {path.name for path in workflows.iterdir()} == expected
    validate_workflows(project, *sorted(workflows.iterdir()))
    # The suite runs once, in the job that counts: on the project's own database.
    testing = workflows / ("tests.yml" if database == "sqlite" else f"tests-{database}.yml")
    steps = {
        path.name: [step.get("run") for job in jobs(path) for step in job["steps"]]
        for path in workflows.iterdir()
    }
    assert [name for name, runs in steps.items() if "pytest" in runs] == [testing.name]
    assert [name for name, runs in steps.items() if "ruff check ." in runs] == [
        "tests.yml" if database == "sqlite" else "lint.yml"
    ]
    # GitHub's ${{ }} expressions pass through Copier's << >> untouched.
    assert "python-version: ${{ matrix.python-version }}" in testing.read_text()
    if database != "sqlite":
        server_workflow = testing.read_text()
        assert f"{project.test_url_env}: {database}+" in server_workflow
        assert f"pip install -e '.[{database}]'" in server_workflow


def jobs(workflow: Path) -> list[dict]:
    return list(yaml.safe_load(workflow.read_text())["jobs"].values())


def assert_service_serves(service: dict, url: URL) -> None:
    """The URL reaches the service container as the container is set up."""
    env = service.get("env", {})
    published = dict(port.split(":") for port in service["ports"])
    assert url.host in ("localhost", "127.0.0.1")
    if url.get_backend_name() == "postgresql":
        assert published[str(url.port)] == "5432"
        assert url.username == env.get("POSTGRES_USER", "postgres")
        assert url.password == env["POSTGRES_PASSWORD"]
        assert url.database in (env.get("POSTGRES_DB", url.username), "postgres")
    else:
        assert published[str(url.port)] == "3306"
        assert (url.username, url.password) == ("root", env["MARIADB_ROOT_PASSWORD"])
        assert url.database in (env.get("MARIADB_DATABASE"), "mysql")


@pytest.mark.parametrize("database", ["postgresql", "mysql"])
def test_rendered_server_workflow_reaches_its_service(rendered, database):
    workflow = rendered(database=database) / ".github" / "workflows" / f"tests-{database}.yml"
    (job,) = yaml.safe_load(workflow.read_text())["jobs"].values()
    (service,) = job["services"].values()
    (url,) = job["env"].values()
    assert_service_serves(service, make_url(url))


def test_the_templates_workflow_reaches_its_services():
    workflow = yaml.safe_load((TEMPLATE_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    job = workflow["jobs"]["test"]
    assert_service_serves(job["services"]["postgres"], make_url(job["env"]["TEST_POSTGRESQL_URL"]))
    assert_service_serves(job["services"]["mariadb"], make_url(job["env"]["TEST_MYSQL_URL"]))


def test_ci_and_pre_commit_format_with_the_same_ruff(rendered):
    """The project's dev group (used by its CI) and pre-commit pin one ruff version."""
    project = rendered()
    dev = tomllib.loads((project / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    (ruff,) = [requirement for requirement in dev if requirement.startswith("ruff")]
    hooks = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert {hook["additional_dependencies"][0] for hook in hooks} == {ruff}


def test_no_workflows_when_declined(rendered):
    assert not (rendered(github_actions=False) / ".github").exists()


def test_pre_commit_runs_ruff_on_the_rendered_project(project):
    """Clean as rendered; then each hook catches what it is there for."""
    project = project()
    # pre-commit's own cache (its ruff environment), not the project's private HOME.
    project.env["PRE_COMMIT_HOME"] = str(Path.home() / ".cache" / "pre-commit")
    git("init", "--quiet", cwd=project.path)
    git_commit_all(project.path, "Copied")
    pre_commit = [BIN / "pre-commit", "run", "--all-files"]

    clean = project.run(*pre_commit).stdout
    assert "ruff check" in clean and "ruff format" in clean

    sloppy = project.path / "my_program" / "sloppy.py"
    sloppy.write_text("x=1;y=2\n")
    git("add", "--all", cwd=project.path)
    result = project.run(*pre_commit, check=False)
    assert result.returncode == 1
    assert "files were modified by this hook" in result.stdout
    assert sloppy.read_text() == "x = 1\ny = 2\n"

    sloppy.write_text("print(undefined_name)\n")  # formatted, but wrong
    result = project.run(*pre_commit, check=False)
    assert result.returncode == 1
    assert "F821 Undefined name `undefined_name`" in result.stdout

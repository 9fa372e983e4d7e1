"""What `copier copy` writes, for every answer set in the matrix."""

import subprocess

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10, the minimum-versions job
    import tomli as tomllib

import pytest
import yaml
from helpers import (
    BIN,
    CREATE_ACCOUNT,
    DRIVERNAMES,
    ENGINE_VARIANTS,
    MATRIX,
    QUESTIONS,
    SEED_ACCOUNTS,
    SHIPPED_FILES,
    answers_id,
)

SEED_FILES = [
    f"{{package}}/migrations/versions/{SHIPPED_FILES[SEED_ACCOUNTS]}",
    "tests/test_seed_data.py",
]
# squawk on the revisions' PostgreSQL SQL (test_revision_linter.py).
POSTGRESQL_FILES = [".squawk.toml", "tests/test_lint_revisions.py"]
ALWAYS = [
    ".copier-answers.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "README.md",
    "alembic.ini",
    "docs/migrations.md",
    "pyproject.toml",
    "{package}/__init__.py",
    "{package}/models.py",
    "{package}/settings.py",
    "{package}/database.py",
    "{package}/migrations/__init__.py",
    "{package}/migrations/env.py",
    "{package}/migrations/head.txt",
    "{package}/migrations/history.py",
    "{package}/migrations/script.py.mako",
    "{package}/migrations/timeouts.py",
    f"{{package}}/migrations/versions/{SHIPPED_FILES[CREATE_ACCOUNT]}",
    "{package}/migrations/versions/README.md",
    "{package}/migrations/runtime/__init__.py",
    "{package}/migrations/runtime/applied.py",
    "{package}/migrations/runtime/autogenerate.py",
    "{package}/migrations/runtime/checks.py",
    "{package}/migrations/runtime/commands.py",
    "{package}/migrations/runtime/database.py",
    "{package}/migrations/runtime/environment.py",
    "{package}/migrations/runtime/errors.py",
    "{package}/migrations/runtime/history.py",
    "{package}/migrations/runtime/lock.py",
    "{package}/migrations/runtime/testing.py",
    "{package}/migrations/runtime/throwaway.py",
    "{package}/migrations/runtime/timeouts.py",
    "tests/conftest.py",
    "tests/test_migrations.py",
]
DELIMITERS = ["<<", "<%", "%>", "<#"]

# Answers at the edges of what the validators allow: a long package name, a project
# name full of characters that mean something to Python, TOML, Jinja or a shell, and
# an empty description.
STRESS = {
    "project_name": "Bob's 100% Ünïcode {DB} #1 <x>",
    "program_name": "customer_relationship_management_backend",
    "description": "",
    "database": "postgresql",
    "seed_data": True,
}


STRESS_ASYNC = {**STRESS, "async_engine": True}


@pytest.fixture(
    params=[*MATRIX, STRESS, STRESS_ASYNC],
    ids=[*map(answers_id, MATRIX), "stress", "stress-async"],
)
def answers(request):
    return request.param


@pytest.fixture
def package(answers):
    return answers.get("program_name", "my_program")


@pytest.fixture
def project(rendered, answers):
    return rendered(**answers)


def rendered_files(project):
    return sorted(path for path in project.rglob("*") if path.is_file())


def test_rendered_tree(project, answers, package):
    files = {str(path.relative_to(project)) for path in rendered_files(project)}
    expected = ALWAYS + (SEED_FILES if answers["seed_data"] else [])
    if answers["database"] == "sqlite":
        expected.append(".github/workflows/tests.yml")
    else:
        expected += [
            ".github/workflows/lint.yml",
            f".github/workflows/tests-{answers['database']}.yml",
        ]
    if answers["database"] == "postgresql":
        expected += POSTGRESQL_FILES
    assert files == {name.format(package=package) for name in expected}


def test_no_template_syntax_is_left(project):
    leftovers = [
        f"{path.relative_to(project)}: {delimiter}"
        for path in rendered_files(project)
        for delimiter in DELIMITERS
        if delimiter in path.read_text() or delimiter in str(path.relative_to(project))
    ]
    assert not leftovers


def test_every_python_file_compiles(project):
    for path in project.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")


def test_ruff_finds_nothing_to_fix_or_format(project):
    """What users get is already clean by their own project's ruff configuration."""
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [str(BIN / "ruff"), *command, "--no-cache", "."],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"ruff {' '.join(command)}:\n{result.stdout}"


def test_the_runtime_names_the_drivers_of_the_engines_kind(project, answers, package):
    database = (project / package / "migrations" / "runtime" / "database.py").read_text()
    engine_kind = "async" if answers.get("async_engine") else "sync"
    assert f"ASYNC_ENGINE = {engine_kind == 'async'}\n" in database
    for name, drivername in DRIVERNAMES[engine_kind].items():
        assert f'    "{name}": "{drivername}",' in database


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_mypy_strict_passes_on_the_package(rendered, engine):
    """The runtime is typed, and so is what the template gives the user: a user who
    runs mypy --strict starts clean, in either variant."""
    result = subprocess.run(
        [str(BIN / "mypy"), "--strict", "--cache-dir", "/dev/null", "my_program"],
        cwd=rendered(**engine),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_driver_dependency_follows_the_database_answer(project, answers, package):
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    extras = metadata["optional-dependencies"]
    assert set(extras) == {"postgresql", "mysql"}, "every backend stays installable"
    drivers = [dep for dep in metadata["dependencies"] if dep.startswith(f"{package}[")]
    if answers["database"] == "sqlite":
        assert drivers == []
    else:
        assert drivers == [f"{package}[{answers['database']}]"]


def test_asyncio_drivers_follow_the_async_engine_answer(project, answers):
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    asyncio = answers.get("async_engine", False)
    assert ("sqlalchemy[asyncio]>=2.0.20" in metadata["dependencies"]) is asyncio
    assert any(dep.startswith("aiosqlite") for dep in metadata["dependencies"]) is asyncio
    mysql_driver = "aiomysql" if asyncio else "pymysql"
    assert metadata["optional-dependencies"]["mysql"][0].startswith(mysql_driver)


def test_the_guide_shows_the_url_for_the_chosen_database(project, answers, package):
    readme = (project / "docs" / "migrations.md").read_text()
    database = answers["database"]
    drivername = DRIVERNAMES["async" if answers.get("async_engine") else "sync"][database]
    scheme = f"{drivername}:////" if database == "sqlite" else f"{drivername}://"
    assert f"export {package.upper()}_DATABASE_URL='{scheme}" in readme
    assert "urllib.parse.quote" in readme, "how to URL-encode a password"
    assert "it always wins over the default" in readme


def test_alembic_ini_has_no_database_url(project, package):
    ini = (project / "alembic.ini").read_text()
    assert "sqlalchemy.url" not in ini
    assert "path_separator = os" in ini
    assert f"script_location = %(here)s/{package}/migrations" in ini


def test_answers_file_records_the_answers_and_nothing_derived(project, answers):
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {key: recorded[key] for key in answers} == answers
    assert "_src_path" in recorded
    assert set(recorded) - {"_commit", "_src_path"} <= QUESTIONS, "constants are not stored"

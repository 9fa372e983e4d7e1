"""What `copier copy` writes, for every answer set in the matrix."""

import subprocess
import tomllib

import pytest
from helpers import BIN, MATRIX, answers_id

SEED_FILES = [
    "my_program/migrations/versions/2026_11_24_0001-89feb189b99d_seed_accounts.py",
    "tests/test_seed_data.py",
]
ALWAYS = [
    ".copier-answers.yml",
    ".gitignore",
    "README.md",
    "alembic.ini",
    "pyproject.toml",
    "my_program/__init__.py",
    "my_program/models.py",
    "my_program/settings.py",
    "my_program/migrations/__init__.py",
    "my_program/migrations/env.py",
    "my_program/migrations/script.py.mako",
    "my_program/migrations/versions/2026_11_24_0000-6ed9f93df750_create_account_table.py",
    "tests/conftest.py",
    "tests/test_migrations.py",
    "tests/test_programmatic_api.py",
]
DELIMITERS = ["<<", "<%", "%>", "<#"]


@pytest.fixture(params=MATRIX, ids=answers_id)
def answers(request):
    return request.param


@pytest.fixture
def project(rendered, answers):
    return rendered(**answers)


def rendered_files(project):
    return sorted(path for path in project.rglob("*") if path.is_file())


def test_rendered_tree(project, answers):
    files = {str(path.relative_to(project)) for path in rendered_files(project)}
    expected = set(ALWAYS) | (set(SEED_FILES) if answers["seed_data"] else set())
    assert files == expected


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


def test_driver_dependency_follows_the_database_answer(project, answers):
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    extras = metadata["optional-dependencies"]
    assert set(extras) == {"postgresql", "mysql"}, "every backend stays installable"
    drivers = [dep for dep in metadata["dependencies"] if dep.startswith("my_program[")]
    if answers["database"] == "sqlite":
        assert drivers == []
    else:
        assert drivers == [f"my_program[{answers['database']}]"]


URL_EXAMPLES = {
    "sqlite": "export MY_PROGRAM_DATABASE_URL='sqlite:////",
    "postgresql": "export MY_PROGRAM_DATABASE_URL='postgresql+psycopg://",
    "mysql": "export MY_PROGRAM_DATABASE_URL='mysql+pymysql://",
}


def test_readme_shows_the_url_for_the_chosen_database(project, answers):
    readme = (project / "README.md").read_text()
    assert URL_EXAMPLES[answers["database"]] in readme
    assert "urllib.parse.quote" in readme, "how to URL-encode a password"
    assert "it always wins over the default" in readme


def test_alembic_ini_has_no_database_url(project):
    ini = (project / "alembic.ini").read_text()
    assert "sqlalchemy.url" not in ini
    assert "path_separator = os" in ini
    assert "script_location = %(here)s/my_program/migrations" in ini


def test_answers_file_records_the_answers(project, answers):
    recorded = (project / ".copier-answers.yml").read_text()
    assert f"database: {answers['database']}" in recorded
    assert f"seed_data: {str(answers['seed_data']).lower()}" in recorded
    assert "_src_path:" in recorded

"""The real `alembic` program in a rendered project, run as a user would, on the
embedded SQLite default (in a private HOME) and on a database the variable names."""

import stat

import pytest
from helpers import (
    CREATE_ACCOUNT,
    SEED_ACCOUNTS,
    SEED_VARIANTS,
    SEEDED_ROWS,
    accounts,
    answers_id,
    sqlite_tables,
)


@pytest.mark.parametrize("answers", SEED_VARIANTS, ids=answers_id)
def test_migration_cycle_on_the_default_database(project, answers):
    """upgrade, current, check, history, downgrade -1, downgrade base, upgrade again."""
    project = project(**answers)
    seeded = answers["seed_data"]
    head = SEED_ACCOUNTS if seeded else CREATE_ACCOUNT
    database = project.default_database

    project.alembic("upgrade", "head")
    assert database.is_file(), f"upgrade head did not create {database}"
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    assert accounts(database) == (SEEDED_ROWS if seeded else [])

    assert f"{head} (head)" in project.alembic("current").stdout
    assert "No new upgrade operations detected" in project.alembic("check").stdout

    history = project.alembic("history", "--verbose").stdout
    assert f"Rev: {CREATE_ACCOUNT}" in history
    assert "Create the account table." in history
    assert (f"Rev: {SEED_ACCOUNTS} (head)" in history) is seeded

    project.alembic("downgrade", "-1")
    if seeded:
        assert accounts(database) == [], "downgrade -1 must remove the seed rows"
        assert f"{CREATE_ACCOUNT}" in project.alembic("current").stdout
    else:
        assert "account" not in sqlite_tables(database)

    project.alembic("downgrade", "base")
    assert sqlite_tables(database) == {"alembic_version"}
    assert project.alembic("current").stdout.strip() == ""

    project.alembic("upgrade", "head")
    assert accounts(database) == (SEEDED_ROWS if seeded else [])


def test_variable_selects_another_database_and_spares_the_default(project, tmp_path):
    project = project()
    other = tmp_path / "other.db"
    project.alembic("upgrade", "head", env={project.url_env: f"sqlite:///{other}"})
    assert accounts(other) == SEEDED_ROWS
    assert not project.default_database.exists()
    assert not project.default_database.parent.exists(), "no default directory either"


def test_alembic_runs_from_another_directory_with_dash_c(project, tmp_path):
    """The env.py puts the project on sys.path, whatever the working directory."""
    project = project()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    project.alembic("-c", project.path / "alembic.ini", "upgrade", "head", cwd=elsewhere)
    assert accounts(project.default_database) == SEEDED_ROWS


@pytest.mark.parametrize("answers", SEED_VARIANTS, ids=answers_id)
def test_offline_sql_prints_the_ddl_and_inserts(project, answers):
    project = project(**answers)
    sql = project.alembic("upgrade", "head", "--sql").stdout
    assert "CREATE TABLE account" in sql
    assert "CONSTRAINT pk_account PRIMARY KEY (id)" in sql
    assert ("INSERT INTO account (id, name, create_date) VALUES (1, 'John Smith'" in sql) is (
        answers["seed_data"]
    )
    assert not project.default_database.exists(), "offline mode must not touch the database"


def test_logging_goes_to_stderr_and_never_shows_the_url(project, tmp_path):
    project = project()
    url = f"sqlite:///{tmp_path / 'secret-name.db'}"
    result = project.alembic("upgrade", "head", env={project.url_env: url})
    assert "Running upgrade  -> 6ed9f93df750" in result.stderr
    assert "secret-name" not in result.stdout + result.stderr

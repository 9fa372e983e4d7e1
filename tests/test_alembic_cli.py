"""The real `alembic` program in a rendered project, run as a user would: on the
embedded SQLite default (in a private HOME), and on PostgreSQL and MariaDB through
the URL variable, each test in a database of its own."""

import stat
from urllib.parse import quote

import pytest
from helpers import (
    BACKENDS,
    CREATE_ACCOUNT,
    REVISIONS,
    SEED_ACCOUNTS,
    SEED_VARIANTS,
    SEEDED_ROWS,
    SERVERS,
    Database,
    answers_id,
)

# With the async engine, test_project_life.py runs the cycle's commands.
CYCLE_CASES = [
    pytest.param(backend, answers, id=f"{backend}-{answers_id(answers)}")
    for backend in BACKENDS
    for answers in SEED_VARIANTS
]


@pytest.mark.parametrize(("backend", "answers"), CYCLE_CASES)
def test_migration_cycle(project_on, backend, answers):
    """upgrade, current, check, history, downgrade -1, downgrade base, upgrade again."""
    project, database = project_on(backend, **answers)
    seeded = answers["seed_data"]
    head = SEED_ACCOUNTS if seeded else CREATE_ACCOUNT

    project.alembic("upgrade", "head")
    assert database.accounts() == (SEEDED_ROWS if seeded else [])

    assert f"{head} (head)" in project.alembic("current").stdout
    # No false positives from type or server-default comparison on any backend.
    assert "No new upgrade operations detected" in project.alembic("check").stdout

    history = project.alembic("history", "--verbose").stdout
    assert f"Rev: {CREATE_ACCOUNT}" in history
    assert "Create the account table." in history
    assert (f"Rev: {SEED_ACCOUNTS} (head)" in history) is seeded

    project.alembic("downgrade", "-1")
    if seeded:
        assert database.accounts() == [], "downgrade -1 must remove the seed rows"
        assert CREATE_ACCOUNT in project.alembic("current").stdout
    else:
        assert "account" not in database.tables()

    project.alembic("downgrade", "base")
    assert database.tables() == {"alembic_version"}
    assert project.alembic("current").stdout.strip() == ""

    project.alembic("upgrade", "head")
    assert database.accounts() == (SEEDED_ROWS if seeded else [])


@pytest.mark.parametrize(
    "xdg_data_home",
    ["absolute", "relative", "x?y %20z#"],
    ids=["absolute", "relative-is-ignored", "url-characters-in-path"],
)
def test_default_database_follows_xdg_data_home(project, tmp_path, xdg_data_home):
    project = project()
    if xdg_data_home == "relative":
        value, expected = "relative/data", project.default_database
    else:
        value = str(tmp_path / xdg_data_home)
        expected = tmp_path / xdg_data_home / "my_program" / "main.db"
    project.alembic("upgrade", "head", env={"XDG_DATA_HOME": value})
    assert Database.sqlite_file(expected).accounts() == SEEDED_ROWS
    assert stat.S_IMODE(expected.parent.stat().st_mode) == 0o700


def test_variable_selects_another_database_and_spares_the_default(project, tmp_path):
    project = project()
    other = tmp_path / "other.db"
    project.alembic("upgrade", "head", env={project.url_env: f"sqlite:///{other}"})
    assert Database.sqlite_file(other).accounts() == SEEDED_ROWS
    assert not project.default_database.exists()
    assert not project.default_database.parent.exists(), "no default directory either"


def test_alembic_runs_from_another_directory_with_dash_c(project, tmp_path):
    """alembic.ini puts the project on sys.path (prepend_sys_path), whatever the
    working directory, even where the package is not installed."""
    project = project()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    project.alembic(
        "-c",
        project.path / "alembic.ini",
        "upgrade",
        "head",
        cwd=elsewhere,
        env={"PYTHONPATH": None},
    )
    assert Database.sqlite_file(project.default_database).accounts() == SEEDED_ROWS


OFFLINE_CASES = {
    "sqlite": "sqlite:////nonexistent/offline.db",
    "postgresql": "postgresql+psycopg://nobody@offline.invalid/db",
    "mysql": "mysql+pymysql://nobody@offline.invalid/db",
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("answers", SEED_VARIANTS, ids=answers_id)
def test_offline_sql_prints_the_ddl_and_inserts(project, backend, answers):
    """`upgrade head --sql` needs no server: the URL only names the dialect."""
    project = project(**answers)
    env = {project.url_env: OFFLINE_CASES[backend]}
    sql = project.alembic("upgrade", "head", "--sql", env=env).stdout
    assert "CREATE TABLE account" in sql
    assert "CONSTRAINT pk_account PRIMARY KEY (id)" in sql
    seeded = answers["seed_data"]
    assert ("INSERT INTO account (id, name, create_date) VALUES (1, 'John Smith'" in sql) is seeded
    assert ("setval(pg_get_serial_sequence('account', 'id')" in sql) is (
        seeded and backend == "postgresql"
    )
    assert not project.default_database.parent.exists(), "offline mode creates nothing"


def test_logging_goes_to_stderr_and_never_shows_the_url(project, tmp_path):
    project = project()
    url = f"sqlite:///{tmp_path / 'secret-name.db'}"
    result = project.alembic("upgrade", "head", env={project.url_env: url})
    assert f"Running upgrade  -> {CREATE_ACCOUNT}" in result.stderr
    assert "secret-name" not in result.stdout + result.stderr


PASSWORD = "p%4@ss:w/rd"  # every character a URL needs encoded, plus a lookalike escape


@pytest.mark.parametrize("backend", list(SERVERS))
def test_url_encoded_password_works_and_is_never_shown(project, servers, server_database, backend):
    """A role whose password has % @ : / in it, URL-encoded as the README says.

    MariaDB checks the password, so a wrong decoding fails the test; a PostgreSQL
    server with trust authentication does not, and there it proves the rest."""
    project = project()
    server = servers(backend)
    admin_url = server.admin_url
    database = admin_url.set(database=None)  # only for its host and port
    name = server_database(backend).rsplit("/", 1)[-1]
    user = f"{name}_user"
    try:
        server.create_user(user, PASSWORD, name)
        url = (
            f"{admin_url.drivername}://{user}:{quote(PASSWORD, safe='')}"
            f"@{database.host}:{database.port}/{name}"
        )
        outputs = []
        for command in (["upgrade", "head"], ["current"], ["check"], ["downgrade", "base"]):
            result = project.alembic(*command, env={project.url_env: url})
            outputs.append(result.stdout + result.stderr)
        assert "No new upgrade operations detected" in outputs[2]
        shown = "\n".join(outputs)
        assert PASSWORD not in shown
        assert quote(PASSWORD, safe="") not in shown
    finally:
        server.drop_database(name)  # first: on PostgreSQL the role owns it
        server.drop_user(user)


def test_the_command_and_the_api_name_constraints_alike(project, tmp_path):
    """A revision's constraint gets its name from the models' naming convention,
    whichever way it runs: the command loads the models for upgrade too."""
    project = project()
    project.add_revision(REVISIONS / "c4ec00000001_check_account_names.py")
    schemas = []
    for how in ("alembic", "api"):
        database = tmp_path / f"{how}.db"
        env = {project.url_env: f"sqlite:///{database}"}
        if how == "alembic":
            project.alembic("upgrade", "head", env=env)
        else:
            project.program("upgrade", env=env)
        schemas.append(
            Database.sqlite_file(database).execute(
                "SELECT sql FROM sqlite_master WHERE name = 'account'"
            )
        )
    assert "CONSTRAINT ck_account_name_not_empty CHECK" in schemas[0][0][0]
    assert schemas[0] == schemas[1]

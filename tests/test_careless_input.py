"""Careless input and odd machines: every mistake gets one clear line, no traceback
from the project's code, and never a password; nothing is lost.

Each table row is a mistake, tried through the `alembic` command and through the
Python API (programs/upgrade.py, whose uncaught MigrationError shows our message
only), on the engines it concerns.
"""

import os
import socket
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from helpers import (
    CREATE_ACCOUNT,
    ENGINE_VARIANTS,
    REVISIONS,
    SEED_ACCOUNTS,
    SEEDED_ROWS,
    SERVERS,
    Database,
    answers_id,
)
from sqlalchemy import URL, make_url

SECRET = "Secr3tPassw0rd"

# URL mistakes that need no server: the URL (with {postgresql}, {mysql} standing
# for the project's drivers), what the message says, and whether it names the
# URL variable.
BAD_URLS = {
    "unparsable": ("not a url", "is not a database URL"),
    "bad-port": (f"{{postgresql}}://app:{SECRET}@localhost:port/app", "is not a database URL"),
    "unknown-dialect": (f"nosuchdb://app:{SECRET}@localhost/app", "names an unknown database"),
    "unreachable": (
        f"{{postgresql}}://app:{SECRET}@127.0.0.1:9/app",
        "Cannot reach the database server 127.0.0.1:9 given by {url_env}: it refused the "
        "connection",
    ),
    # SQLAlchemy would read "ss...@127.0.0.1" as the host, and the driver print it.
    "unencoded-at-in-password": (
        f"{{postgresql}}://app:p@ss{SECRET}@127.0.0.1/app",
        "The password in {url_env} has an @ that is not URL-encoded",
    ),
    # ... and "app@ss...@127.0.0.1" as the user name, which drivers print.
    "unencoded-at-without-a-colon": (
        f"{{postgresql}}://app@{SECRET}@127.0.0.1/app",
        "The password in {url_env} has an @ that is not URL-encoded",
    ),
    "unencoded-at-then-slash": (
        f"{{mysql}}://app:p@ss/{SECRET}@db.example.invalid/app",
        "The password in {url_env} has an @ that is not URL-encoded",
    ),
    # Alembic prints the engine's URL with its query, but never its password.
    "password-in-the-query": (
        f"{{postgresql}}://app@127.0.0.1:9/app?password={SECRET}",
        "Cannot reach the database server 127.0.0.1:9",
    ),
    "two-passwords": (
        f"{{postgresql}}://app:{SECRET}@127.0.0.1:9/app?password={SECRET}",
        "{url_env} gives more than one password",
    ),
    "unknown-option-psycopg": (
        f"{{postgresql}}://app:{SECRET}@127.0.0.1:9/app?colour=blue",
        "{url_env} has a query option that the psycopg driver does not take (invalid "
        'connection option "colour")',
    ),
    "unknown-option-mysql": (
        f"{{mysql}}://app:{SECRET}@127.0.0.1:9/app?colour=blue",
        "{url_env} has a query option that the {mysql_driver} driver does not take ("
        "{mysql_function}() got an unexpected keyword argument 'colour')",
    ),
    # GET_LOCK returns NULL without a database, and Alembic fails on an assertion.
    "mysql-without-a-database": (
        f"{{mysql}}://app:{SECRET}@127.0.0.1:9",
        "{url_env} names no database: add its name",
    ),
    "missing-sqlite-directory": (
        "{sqlite}:////nonexistent/directory/app.db",
        "Cannot open the SQLite database '/nonexistent/directory/app.db' given by {url_env}",
    ),
}
# Mistakes about drivers, for the synchronous engine (the asyncio one refuses a
# synchronous driver by name: test_a_driver_of_the_other_kind_is_refused_by_name).
BAD_DRIVERS = {
    "missing-driver": (
        f"postgresql+psycopg2://app:{SECRET}@localhost/app",
        "needs the psycopg2 driver, which is not installed: pip install psycopg2-binary",
    ),
    "mysql-without-a-driver": (
        f"mysql://app:{SECRET}@localhost/app",
        "needs the mysqldb driver, which is not installed: pip install mysqlclient",
    ),
}
# Passwords so short that masking them in a driver's message by search and
# replace would garble it and show where they are.
SHORT_PASSWORDS = ["1", "0", "on", "c"]


def assert_clear_failure(result, says: str, *, traceback: bool = False, secret=SECRET) -> None:
    """One line says what is wrong, once; the password appears nowhere."""
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert says in output, output
    assert secret not in output, "the password never appears"
    assert quote(secret, safe="") not in output
    assert ("Traceback" in output) is traceback, output
    if not traceback:
        assert output.count(says) == 1, f"printed once: {output}"


def fail_both_ways(project, env, says: str, **checks) -> None:
    """The `alembic` command and the Python API fail with the same message."""
    assert_clear_failure(project.alembic("upgrade", "head", check=False, env=env), says, **checks)
    # Left uncaught, the API's traceback shows our message only, not a driver's
    # message that might hold the URL.
    uncaught = project.program("upgrade", check=False, env=env)
    assert_clear_failure(uncaught, says, traceback=True, **checks)
    assert "MigrationError" in uncaught.stderr
    assert uncaught.stderr.count("Traceback") == 1, "only the MigrationError's"


def url_in(project, template: str) -> str:
    return template.format(**project.drivers)


# The rows whose outcome goes through the driver, which differs between the
# engines; the others are decided from the URL alone, the same for both.
THROUGH_THE_DRIVER = {
    "unreachable",
    "unknown-option-psycopg",
    "unknown-option-mysql",
    "missing-sqlite-directory",
}
BAD_URL_CASES = [
    pytest.param(case, engine, id=f"{case}-{answers_id(engine)}")
    for case in BAD_URLS
    for engine in (ENGINE_VARIANTS if case in THROUGH_THE_DRIVER else ENGINE_VARIANTS[:1])
]


@pytest.mark.parametrize(("case", "engine"), BAD_URL_CASES)
def test_a_bad_url_fails_clearly_without_the_password(project, case, engine):
    project = project(**engine)
    url, says = BAD_URLS[case]
    mysql_driver = project.drivers["mysql"].split("+")[1]
    mysql_function = "connect" if project.async_engine else "Connection.__init__"
    says = says.format(
        url_env=project.url_env, mysql_driver=mysql_driver, mysql_function=mysql_function
    )
    fail_both_ways(project, {project.url_env: url_in(project, url)}, says)


def test_commands_that_only_read_check_the_url_too(project):
    """They take no lock, and reach the database all the same."""
    project = project()
    url, says = BAD_URLS["mysql-without-a-database"]
    env = {project.url_env: url_in(project, url)}
    for command in ("current", "check"):
        result = project.alembic(command, check=False, env=env)
        assert_clear_failure(result, says.format(url_env=project.url_env))


# For each engine: a URL with a driver of the other kind, what the refusal says, and
# the drivers it offers instead.
WRONG_KIND_OF_DRIVER = {
    False: (
        "mysql+aiomysql://app@localhost/app",
        "'mysql+aiomysql', an asyncio driver",
        "Use sqlite, postgresql+psycopg, mysql+pymysql.",
    ),
    True: (
        "sqlite:////tmp/app.db",
        "'sqlite', a synchronous driver",
        "Use sqlite+aiosqlite, postgresql+psycopg, mysql+aiomysql.",
    ),
}


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_a_driver_of_the_other_kind_is_refused_by_name(project, engine):
    """An asyncio driver for a synchronous engine, or the other way round."""
    project = project(**engine)
    url, says, offers = WRONG_KIND_OF_DRIVER[project.async_engine]
    fail_both_ways(project, {project.url_env: url}, f"{project.url_env} names {says}")
    assert offers in project.alembic("current", check=False, env={project.url_env: url}).stdout


@pytest.mark.parametrize("case", BAD_DRIVERS)
def test_a_missing_driver_is_named_with_its_package(project, case):
    project = project()
    url, says = BAD_DRIVERS[case]
    fail_both_ways(project, {project.url_env: url}, f"{project.url_env} {says}")


@pytest.mark.parametrize("password", SHORT_PASSWORDS)
def test_a_short_password_leaves_the_message_whole(project, password):
    """Built from what was parsed, not by masking the driver's text: the host, the
    port and the words around them stay whole."""
    project = project()
    url = f"postgresql+psycopg://app:{password}@127.0.0.1:9/app"
    says = (
        f"Cannot reach the database server 127.0.0.1:9 given by {project.url_env}: it "
        "refused the connection (check that it is running, on that port)."
    )
    result = project.alembic("upgrade", "head", check=False, env={project.url_env: url})
    assert says in result.stdout
    assert "***" not in result.stdout + result.stderr


def test_an_async_project_without_greenlet_says_to_reinstall_it(project, tmp_path):
    """greenlet comes with the project (sqlalchemy[asyncio]): if it went missing,
    installing the driver would not help."""
    project = project(async_engine=True)
    shadow = tmp_path / "uninstalled" / "greenlet"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'greenlet'\", name='greenlet')\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(shadow.parent), str(project.path)])}
    says = "greenlet, which this project depends on, is not installed: pip install my_program"
    fail_both_ways(project, env, says)
    assert "pip install aiosqlite" not in project.alembic("current", check=False, env=env).stdout


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan", "2147484", "1" + "0" * 400])
def test_bad_timeouts_are_refused_clearly(project, value):
    """A negative wait would make MySQL's GET_LOCK wait forever; PostgreSQL holds
    at most 2147483647 ms; 10**400 seconds is no number of seconds a float holds."""
    project = project()
    shown = repr(value) if len(value) < 20 else f"{repr(value)[:20]}..."
    for name in ("migration_lock_timeout", "table_lock_timeout", "statement_timeout"):
        result = project.alembic("-x", f"{name}={value}", "upgrade", "head", check=False)
        says = f"{name} must be a number of seconds from 0 to 2147483, not {shown}"
        assert_clear_failure(result, says)
    # From Python, the number itself (or the string) gets the same refusal.
    api = project.program("upgrade", value, check=False)
    assert "MigrationError: migration_lock_timeout must be a number of seconds" in api.stderr
    assert api.stderr.count("Traceback") == 1, "only the uncaught MigrationError's"
    assert not project.default_database.exists(), "nothing was migrated"


def test_a_misspelt_timeout_keyword_is_refused_by_name(project):
    """upgrade()'s timeouts are keywords: one misspelt would otherwise be ignored."""
    project = project()
    call = "from my_program import migrations; migrations.upgrade(migration_lock_timout=1)"
    result = project.python("-c", call, check=False)
    says = "TypeError: upgrade() got an unexpected keyword argument 'migration_lock_timout'"
    assert says in result.stderr
    assert "migration_lock_timeout, retry_for, statement_timeout" in result.stderr
    assert not project.default_database.exists(), "nothing was migrated"


# What can be in the way of the default database's directory, and what it does.
DATA_DIR_PROBLEMS = {
    "a-file-where-a-parent-should-be": ("file", ".local/share", "Not a directory"),
    "a-file-where-it-should-be": ("file", ".local/share/my_program", "File exists"),
    # /sys refuses new directories even to root, whom file modes do not stop.
    "an-unwritable-xdg-data-home": ("xdg", "/sys", "Operation not permitted"),
}


@pytest.mark.parametrize("problem", DATA_DIR_PROBLEMS)
def test_a_data_directory_that_cannot_be_made_fails_clearly(project, problem):
    project = project()
    kind, where, strerror = DATA_DIR_PROBLEMS[problem]
    env = {}
    if kind == "file":
        (project.home / where).parent.mkdir(parents=True, exist_ok=True)
        (project.home / where).write_text("in the way\n")
        directory = project.home / ".local" / "share" / "my_program"
    else:
        env["XDG_DATA_HOME"] = where
        directory = f"{where}/my_program"
    says = f"Cannot create the default database in {directory} ({strerror})"
    fail_both_ways(project, env, says)


def test_the_default_database_is_not_blamed_on_the_url_variable(project):
    """With the variable unset, a message about the database says it is the
    default one, and how to use another."""
    project = project()
    project.default_database.mkdir(parents=True)  # a directory where the file goes
    says = (
        f"Cannot open the SQLite database '{project.default_database}' (the default "
        f"database; set {project.url_env} to use another)"
    )
    fail_both_ways(project, {}, says)


def test_new_directories_are_private_whatever_the_umask(project):
    """The XDG spec asks for 0700 on the data directories it makes: the parents
    too (~/.local, ~/.local/share), not only the project's own."""
    project = project()
    umask = os.umask(0)  # inherited by the `alembic` process
    try:
        project.alembic("upgrade", "head")
    finally:
        os.umask(umask)
    created = [project.home / ".local", project.home / ".local" / "share"]
    for directory in [*created, project.default_database.parent]:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    for file in project.default_database.parent.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_an_sqlite_reader_makes_a_migration_fail_clearly_or_not_at_all(project, engine, tmp_path):
    """A reader's open transaction blocks a commit in SQLite's rollback journal
    mode: after the busy timeout, one line says so, and the database stays at the
    last good revision. The default database is in WAL mode, where it does not."""
    project = project(**engine)
    user_file = tmp_path / "journal.db"
    cases = [
        ({project.url_env: f"{project.drivers['sqlite']}:///{user_file}?timeout=1"}, user_file),
        ({}, project.default_database),
    ]
    for env, path in cases:
        project.alembic("upgrade", CREATE_ACCOUNT, env=env)
        reader = sqlite3.connect(path, isolation_level=None)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM account").fetchall()
            result = project.alembic("upgrade", "head", check=False, env=env)
        finally:
            reader.close()
        database = Database.sqlite_file(path)
        if path == user_file:
            says = f"The SQLite database '{user_file}' stayed locked for 1 s"
            assert_clear_failure(result, says)
            assert database.version() == CREATE_ACCOUNT, "the seed revision was rolled back"
        else:
            assert result.returncode == 0, result.stderr
            assert database.accounts() == SEEDED_ROWS


def test_an_error_is_printed_once(project):
    """Alembic logs each error and prints it as FAILED: the project's logging
    configuration keeps one."""
    project = project()
    result = project.alembic("upgrade", "nosuchrevision", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert output.count("Can't locate revision identified by 'nosuchrevision'") == 1, output


# Mistakes only a server can show.


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
@pytest.mark.parametrize("backend", list(SERVERS))
def test_a_database_that_does_not_exist_is_named(project, servers, backend, engine):
    """MySQL says so by its error number, asyncpg by PostgreSQL's code, and libpq,
    which gives no code while it connects, in PostgreSQL's words: one line each."""
    project = project(**engine)
    admin_url = servers(backend).admin_url
    url = project.url_for(
        admin_url.set(database="tpl_no_such_database").render_as_string(hide_password=False)
    )
    port = admin_url.port or {"postgresql": 5432, "mysql": 3306}[backend]
    says = (
        f"The database server {admin_url.host}:{port} has no database 'tpl_no_such_database', "
        f"the one {project.url_env} names: create it, or correct the name."
    )
    fail_both_ways(project, {project.url_env: url}, says)


@pytest.mark.parametrize("backend", list(SERVERS))
def test_a_password_in_the_query_works_and_is_never_shown(
    project, servers, server_database, backend
):
    """?password=... reaches the driver as the password (MariaDB checks it), and no
    command shows it, `current -v` and `history -v` included."""
    project = project()
    server = servers(backend)
    name = server_database(backend).rsplit("/", 1)[-1]
    user = f"{name}_user"
    try:
        server.create_user(user, SECRET, name)
        admin = server.admin_url
        url = URL.create(
            admin.drivername, user, None, admin.host, admin.port, name, {"password": SECRET}
        ).render_as_string(hide_password=False)
        env = {project.url_env: url}
        shown = ""
        for command in (["upgrade", "head"], ["current", "-v"], ["history", "-v"]):
            result = project.alembic(*command, env=env)
            shown += result.stdout + result.stderr
        assert "Current revision(s) for" in shown
        assert SECRET not in shown
        assert Database(server.url(name)).accounts() == SEEDED_ROWS
    finally:
        server.drop_database(name)  # first: on PostgreSQL the role owns it
        server.drop_user(user)


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
@pytest.mark.parametrize("backend", list(SERVERS))
def test_a_refused_login_fails_clearly_without_the_password(project, servers, backend, engine):
    """By MySQL's error number, and asyncpg's SQLSTATE; psycopg gives no code while it
    connects, and libpq's own words are shown, which never hold the password."""
    project = project(**engine)
    admin_url = servers(backend).admin_url
    url = admin_url.set(username="no_such_user", password=SECRET).render_as_string(
        hide_password=False
    )
    env = {project.url_env: project.url_for(url)}
    result = project.alembic("upgrade", "head", check=False, env=env)
    says = {
        "mysql": f"The database server refused the login of 'no_such_user' given by "
        f"{project.url_env}: check the user name and the password",
        "postgresql": 'FATAL: role "no_such_user" does not exist',
    }[backend]
    assert_clear_failure(result, says)


def test_a_mysql_connection_handed_over_without_a_database_is_refused_clearly(project, servers):
    """A URL without a database is refused before anything connects; a Connection
    handed over (Alembic's cookbook) has none to check but the session's."""
    project = project()
    admin_url = servers("mysql").admin_url.render_as_string(hide_password=False)
    without_a_database = admin_url.rsplit("/", 1)[0]
    result = project.program("upgrade_on_a_connection", without_a_database, check=False)
    assert "MigrationError: The MySQL connection has no database" in result.stderr


def test_a_database_name_the_server_refuses_is_not_blamed_on_the_query(project, servers):
    """MySQL refuses a 70-character database name as a programming error: with no
    query option in the URL, that is no query option's fault."""
    project = project()
    url = servers("mysql").admin_url.set(database="x" * 70).render_as_string(hide_password=False)
    result = project.alembic("upgrade", "head", check=False, env={project.url_env: url})
    assert "Incorrect database name" in result.stdout
    assert "query option" not in result.stdout


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_url_variable_set_but_empty_is_refused_and_nothing_is_created(project, blank):
    """An empty Kubernetes Secret key, `export X=`: a server project must not
    migrate a local SQLite file instead and exit 0."""
    project = project(database="postgresql")
    says = (
        "MY_PROGRAM_DATABASE_URL is set but empty: set it to the database's URL, or "
        "unset it to use the default database."
    )
    fail_both_ways(project, {project.url_env: blank}, says)
    current = project.alembic("current", check=False, env={project.url_env: blank})
    assert_clear_failure(current, says)
    assert not project.default_database.parent.exists(), "nothing was created"


def test_a_test_variable_set_but_empty_stops_the_suite_naming_it(project):
    project = project()
    result = project.python(
        "-m", "pytest", "-p", "no:cacheprovider", check=False, env={project.test_url_env: ""}
    )
    assert result.returncode == 4, "pytest's usage error"
    assert (
        "MY_PROGRAM_TEST_DATABASE_URL is set but empty: set it to the test database's URL, "
        "or unset it to test on a throwaway database."
    ) in result.stderr


def test_a_test_server_out_of_reach_stops_the_suite_once_naming_its_variable(project):
    """Nothing listens where the test variable points: one error naming that
    variable, no test run, no password shown."""
    project = project(database="postgresql")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://app:{quote(SECRET, safe='')}@127.0.0.1:{port}/app_test"
    result = project.python(
        "-m", "pytest", "-p", "no:cacheprovider", check=False, env={project.test_url_env: url}
    )
    assert result.returncode == 4, "pytest's usage error"
    assert result.stderr.strip() == (
        f"ERROR: Cannot reach the database server 127.0.0.1:{port} given by "
        "MY_PROGRAM_TEST_DATABASE_URL: it refused the connection (check that it is "
        "running, on that port)."
    )
    assert "passed" not in result.stdout and "Secr" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("migration_lock_timout=1", "did you mean migration_lock_timeout? "),
        ("table_lock_timeuot=1", "did you mean table_lock_timeout? "),
        ("lock_wait_timeout=1", ""),
    ],
)
def test_a_misspelt_x_option_is_refused_by_name(project, option, says):
    """Misspelt, a timeout would be ignored; the user's own -x options still pass."""
    project = project()
    result = project.alembic("-x", option, "upgrade", "head", check=False)
    name = option.split("=")[0]
    assert_clear_failure(
        result,
        f"-x {name}: no such option; {says}The timeouts are migration_lock_timeout, "
        "retry_for, statement_timeout, table_lock_timeout.",
    )
    assert not project.default_database.exists(), "nothing was migrated"
    project.alembic("-x", "tenant=acme", "upgrade", "head")


def test_a_timeout_under_a_millisecond_is_never_no_limit(project):
    """PostgreSQL counts milliseconds, and 0 means no limit: a tiny timeout is one
    millisecond, not none."""
    project = project(database="postgresql")
    env = {project.url_env: "postgresql+psycopg://app@db.invalid/app"}
    sql = project.alembic(
        "-x",
        "table_lock_timeout=0.0004",
        "-x",
        "statement_timeout=0.0001",
        "upgrade",
        "head",
        "--sql",
        env=env,
    ).stdout
    assert "SET lock_timeout = 1;" in sql
    assert "SET statement_timeout = 1;" in sql
    assert "SET lock_timeout = 0;" not in sql


# A role that may read the database and nothing more: PostgreSQL's read-only
# default, MySQL's SELECT alone. It logs in with SECRET.
READ_ONLY_ROLE = {
    "postgresql": [
        "CREATE ROLE {user} LOGIN PASSWORD '{secret}'",
        "ALTER ROLE {user} SET default_transaction_read_only = on",
    ],
    "mysql": ["CREATE USER '{user}'@'%' IDENTIFIED BY '{secret}'"],
}
GRANT_READING = {
    "postgresql": "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}",
    "mysql": "GRANT SELECT ON {database}.* TO '{user}'@'%'",
}
REFUSED = {
    "postgresql": "cannot execute ALTER TABLE in a read-only transaction",
    "mysql": "ALTER command denied to user",
}


@pytest.mark.parametrize("backend", list(SERVERS))
def test_a_role_that_may_only_read_works_at_head_and_fails_in_one_line(
    project, servers, server_database, backend
):
    """At head there is nothing to write: `alembic current`, upgrade() and `alembic
    upgrade head` all work. A revision to run is refused in one line naming it and
    what the database said, and no password."""
    server = servers(backend)
    project = project()
    admin = server_database(backend)
    database = make_url(admin).database
    user = f"tpl_ro_{database[-8:]}"
    server.execute(*(sql.format(user=user, secret=SECRET) for sql in READ_ONLY_ROLE[backend]))
    try:
        project.alembic("upgrade", "head", env={project.url_env: project.url_for(admin)})
        Database(admin).execute(GRANT_READING[backend].format(user=user, database=database))
        reader = make_url(admin).set(username=user, password=SECRET)
        env = {project.url_env: project.url_for(reader.render_as_string(hide_password=False))}
        assert project.alembic("current", env=env).stdout.split() == [SEED_ACCOUNTS, "(head)"]
        project.program("upgrade", env=env)
        project.alembic("upgrade", "head", env=env)

        project.add_revision(REVISIONS / "a1a1a1a1a1a1_add_account_email.py")
        project.record_head()
        says = "Revision a1a1a1a1a1a1 (a1a1a1a1a1a1_add_account_email.py) was refused: "
        fail_both_ways(project, env, says)
        result = project.alembic("upgrade", "head", check=False, env=env)
        assert REFUSED[backend] in result.stdout
        assert "grant the privilege, or migrate with a role that has it." in result.stdout
    finally:
        drop = (
            f"DROP ROLE IF EXISTS {user}"
            if backend == "postgresql"
            else f"DROP USER IF EXISTS '{user}'@'%'"
        )
        if backend == "postgresql":
            Database(admin).execute(f"DROP OWNED BY {user}")
        server.execute(drop)


def test_a_role_without_create_on_postgresql_fails_in_one_line(project, servers, server_database):
    """PostgreSQL 15 on: only the database's owner may create in schema public."""
    server = servers("postgresql")
    project = project()
    admin = server_database("postgresql")
    user = f"tpl_nc_{make_url(admin).database[-8:]}"
    server.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{SECRET}'")
    try:
        url = make_url(admin).set(username=user, password=SECRET)
        env = {project.url_env: project.url_for(url.render_as_string(hide_password=False))}
        says = (
            f"Revision {CREATE_ACCOUNT} (2026_11_24_0000-{CREATE_ACCOUNT}_create_account_table.py)"
            " was refused: permission denied for schema public. The role in the URL may not "
            "do what it needs"
        )
        fail_both_ways(project, env, says)
    finally:
        server.execute(f"DROP ROLE IF EXISTS {user}")


@contextmanager
def mounted_read_only(directory) -> Iterator[None]:
    """`directory`, on a read-only file system while the block runs: a bind mount,
    which needs root (as CI runs); elsewhere the test skips saying so."""
    if os.geteuid() != 0:
        pytest.skip("a read-only file system needs a bind mount, which needs root")
    subprocess.run(["mount", "--bind", directory, directory], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", directory], check=True)
        yield
    finally:
        subprocess.run(["umount", directory], check=True)


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_a_default_database_on_a_read_only_file_system_at_head_still_starts(project, engine):
    """Nothing to write at head: `alembic current`, upgrade() and the record's list
    work; what would write says in one line what is read-only."""
    project = project(**engine)
    project.alembic("upgrade", "head")
    data = project.default_database.parent
    with mounted_read_only(data):
        assert project.alembic("current").stdout.split() == [SEED_ACCOUNTS, "(head)"]
        project.program("upgrade")
        listed = project.python("-m", "my_program.migrations.history", "applied").stdout
        assert SEED_ACCOUNTS in listed
        result = project.alembic("upgrade", "head", check=False)
        assert_clear_failure(
            result,
            f"Cannot create the migration lock file '{data}/main.db.lock' beside the "
            "SQLite database (Read-only file system)",
        )


def test_a_read_only_sqlite_url_to_no_file_creates_none(project, tmp_path):
    project = project()
    missing = tmp_path / "missing.db"
    env = {project.url_env: f"sqlite:///file:{missing}?mode=ro&uri=true"}
    says = (
        f"The SQLite database '{missing}' given by MY_PROGRAM_DATABASE_URL does not "
        "exist, and mode=ro opens a database only to read it: migrate it without mode=ro."
    )
    assert_clear_failure(project.alembic("current", check=False, env=env), says)
    assert not missing.exists()

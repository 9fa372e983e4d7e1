"""A migration on a live database: an application's transaction holds a lock on a
table that a revision alters. The migration gives up within its bound, saying
why, and the application's queries never wait much longer than one table lock
timeout; a shorter block is waited out where a retry is safe; the offline SQL
sets the same timeouts."""

import threading
import time
from contextlib import contextmanager

import pytest
from helpers import (
    ENGINE_VARIANTS,
    REVISIONS,
    SEED_ACCOUNTS,
    SERVERS,
    answers_id,
    engine_for,
)
from sqlalchemy import text

ADD_EMAIL = REVISIONS / "a1a1a1a1a1a1_add_account_email.py"
OWN_TIMEOUTS = REVISIONS / "a2a2a2a2a2a2_index_with_its_own_timeouts.py"
# Short, for the tests: each statement waits 1 s for a table lock, and a revision
# that could not have one is tried again for 6 s, long enough that an application
# query waiting for the whole migration would show.
TABLE_LOCK, RETRY_FOR = 1.0, 6.0
CLI_TIMEOUTS = ["-x", f"table_lock_timeout={TABLE_LOCK:g}", "-x", f"retry_for={RETRY_FOR:g}"]


@contextmanager
def application_reading(database_url: str, briefly: bool = False):
    """An application's transaction that has read the account table and stays
    open until the block ends; or, briefly, until the migration has waited for
    the table's lock, been cut short and is trying again (then it commits)."""
    with engine_for(database_url) as engine, engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM account"))
        let_go = briefly and threading.Thread(target=let_go_after_a_wait, args=(engine, connection))
        if let_go:
            let_go.start()
        try:
            yield
        finally:
            if let_go:
                let_go.join()
            connection.rollback()


def let_go_after_a_wait(engine, connection) -> None:
    """Once a statement waits for a lock (PostgreSQL says so), hold on a little
    longer than a table lock timeout, then commit."""
    deadline = time.monotonic() + 30
    with engine.connect() as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                    "'Lock' AND datname = current_database()"
                )
            )
            watcher.rollback()
            if waiting:
                break
            time.sleep(0.05)
    time.sleep(TABLE_LOCK + 0.3)
    connection.rollback()


@contextmanager
def application_queries(database_url: str, waits: list[float]):
    """The application's other requests, meanwhile: a query on the account table
    every half second, each one's wait recorded."""
    stop = threading.Event()

    def query() -> None:
        with engine_for(database_url) as engine:
            while not stop.wait(0.5):
                started = time.monotonic()
                with engine.connect() as connection:
                    connection.execute(text("SELECT count(*) FROM account"))
                waits.append(time.monotonic() - started)

    thread = threading.Thread(target=query)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def api_command(project) -> list:
    """upgrade() in a synchronous project, upgrade_async() in an asyncio one."""
    function = "upgrade_async" if project.async_engine else "upgrade"
    return ["upgrade_with_timeouts", function, TABLE_LOCK, RETRY_FOR]


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
@pytest.mark.parametrize("backend", list(SERVERS))
def test_a_held_table_makes_the_migration_give_up_not_the_application_wait(
    project_on, backend, engine
):
    project, database = project_on(backend, **engine)
    project.alembic("upgrade", SEED_ACCOUNTS)
    project.add_revision(ADD_EMAIL)
    waits: list[float] = []
    with application_reading(database.url), application_queries(database.url, waits):
        started = time.monotonic()
        cli = project.alembic(*CLI_TIMEOUTS, "upgrade", "head", check=False)
        took = time.monotonic() - started
        api = project.program(*api_command(project), check=False)

    says = "Revision a1a1a1a1a1a1 (a1a1a1a1a1a1_add_account_email.py) could not lock a table"
    for result in (cli, api):
        assert result.returncode != 0
        assert says in result.stdout + result.stderr
        assert "idle in a transaction" in result.stdout + result.stderr
    assert "Traceback" not in cli.stdout + cli.stderr
    assert "MigrationError" in api.stderr
    if backend == "postgresql":  # tried again until the bound, then no longer
        assert RETRY_FOR <= took < RETRY_FOR + 30
        assert "tried" in cli.stdout
        assert "trying again in" in cli.stderr
    else:  # MySQL commits DDL as it goes: never tried again
        assert "trying again could repeat what it committed" in cli.stdout
        assert "trying again in" not in cli.stderr
    assert database.version() == SEED_ACCOUNTS
    assert waits, "the application ran queries meanwhile"
    # Each query waits at most about one table lock timeout, never the migration's
    # whole RETRY_FOR (the margin is for a loaded machine).
    assert max(waits) < TABLE_LOCK + 3, f"the application waited {max(waits):.1f} s"

    project.alembic("upgrade", "head")  # the application let go: it goes through
    assert database.version() == "a1a1a1a1a1a1"


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
@pytest.mark.parametrize("backend", list(SERVERS))
def test_a_short_block_is_waited_out_where_a_retry_is_safe(project_on, backend, engine):
    """The application holds the table a little longer than one table lock
    timeout, less than the 3 s of retries."""
    project, database = project_on(backend, **engine)
    project.alembic("upgrade", SEED_ACCOUNTS)
    project.add_revision(ADD_EMAIL)
    for command in (
        [*CLI_TIMEOUTS, "upgrade", "head"],
        [*CLI_TIMEOUTS, "downgrade", SEED_ACCOUNTS],
    ):
        with application_reading(database.url, briefly=backend == "postgresql"):
            result = project.alembic(*command, check=False)
        if backend == "postgresql":
            assert result.returncode == 0, result.stdout + result.stderr
            assert "could not lock a table within 1 s; trying again" in result.stderr
        else:
            assert result.returncode != 0
            assert "trying again could repeat what it committed" in result.stdout
            return
    assert database.version() == SEED_ACCOUNTS
    with application_reading(database.url, briefly=True):
        api = project.program(*api_command(project), check=False)
    assert api.returncode == 0, api.stderr
    assert database.version() == "a1a1a1a1a1a1"


OFFLINE_URLS = {
    "postgresql": "postgresql+psycopg://nobody@offline.invalid/db",
    "mariadb": "mariadb+pymysql://nobody@offline.invalid/db",
}
# What the offline SQL sets first, by default and with the options below; and what
# a revision that needs longer sets for itself (programs' revision OWN_TIMEOUTS).
OFFLINE_SETTINGS = {
    "postgresql": (
        ["SET lock_timeout = 5000;"],
        ["SET lock_timeout = 2500;", "SET statement_timeout = 60000;"],
        ["SET lock_timeout = 30000;", "SET statement_timeout = 0;"],
    ),
    "mariadb": (
        ["SET SESSION lock_wait_timeout = 5;", "SET SESSION innodb_lock_wait_timeout = 5;"],
        ["SET SESSION lock_wait_timeout = 3;", "SET SESSION max_statement_time = 60;"],
        ["SET SESSION lock_wait_timeout = 30;", "SET SESSION max_statement_time = 0;"],
    ),
}


@pytest.mark.parametrize("backend", OFFLINE_URLS)
def test_offline_sql_sets_the_same_timeouts(project, backend):
    """A DBA who runs `upgrade --sql` output gets the same protection; a revision's
    own timeouts last until it ends."""
    project = project()
    project.add_revision(ADD_EMAIL)
    project.add_revision(OWN_TIMEOUTS)
    env = {project.url_env: OFFLINE_URLS[backend]}
    by_default, given, own = OFFLINE_SETTINGS[backend]
    sql = project.alembic("upgrade", "head", "--sql", env=env).stdout
    first_revision = sql.index("-- Running upgrade")
    assert all(0 <= sql.index(setting) < first_revision for setting in by_default)
    sql = project.alembic(
        "-x",
        "table_lock_timeout=2.5",
        "-x",
        "statement_timeout=60",
        "upgrade",
        "head",
        "--sql",
        env=env,
    ).stdout
    assert all(sql.index(setting) < sql.index("-- Running upgrade") for setting in given)
    revision = sql.index("-- Running upgrade a1a1a1a1a1a1 -> a2a2a2a2a2a2")
    index = sql.index("CREATE INDEX ix_account_email")
    assert all(revision < sql.index(setting, revision) < index for setting in own)
    # after the revision, the run's own again
    assert sql.index(given[0], index) > index


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_revisions_own_timeout_ends_with_it_outside_its_transaction_too(
    project_on, servers, backend
):
    """A revision sets its own statement timeout, then leaves its transaction,
    where the timeout is the session's: the next revision has the run's (here,
    the server's) inside its transaction and outside it."""
    project, database = project_on(backend)
    for name in (
        "5e5e5e000001_own_timeout_outside_its_transaction.py",
        "5e5e5e000002_what_the_next_revision_sees.py",
    ):
        project.add_revision(REVISIONS / name)
    project.alembic("upgrade", "head")
    servers_default = servers(backend).setting("statement_timeout")
    seen = dict(database.execute("SELECT place, statement_timeout FROM seen"))
    assert seen == {"inside": servers_default, "outside": servers_default}


def test_the_old_lock_timeout_option_still_works_and_says_its_new_name(project):
    project = project()
    result = project.alembic("-x", "lock_timeout=3", "upgrade", "head")
    assert "lock_timeout is now migration_lock_timeout" in result.stderr
    result = project.alembic("-x", "table_lock_timeout=1e9", "upgrade", "head", check=False)
    assert "table_lock_timeout must be a number of seconds from 0 to 2147483, not '1e9'" in (
        result.stdout
    )

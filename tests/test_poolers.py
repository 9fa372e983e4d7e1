"""Migrations through PgBouncer, as hosted PostgreSQL services and Kubernetes set
them up. Transaction pooling hands each transaction to any server connection;
session pooling lends a client one for as long as it stays. Through either,
replicas that start together all start and run each revision once, a concurrent
index is built, and nothing is left on the pooled server connections: no lock,
no setting. A wrong password is a refused login, said in one line.

`bash .ci/pgbouncer` starts both poolers in front of the local PostgreSQL, as CI
does; these variables reach them.
"""

import os
from contextlib import ExitStack

import pytest
from conftest import server_unavailable
from helpers import ENGINE_VARIANTS, REVISIONS, Database, answers_id, engine_for
from sqlalchemy import make_url, text
from sqlalchemy.exc import SQLAlchemyError
from test_reliability import replicas_start_together

POOLERS = {
    "transaction": (
        "TEST_PGBOUNCER_TRANSACTION_URL",
        "postgresql+psycopg://postgres:pooled@127.0.0.1:16432/postgres",
    ),
    "session": (
        "TEST_PGBOUNCER_SESSION_URL",
        "postgresql+psycopg://postgres:pooled@127.0.0.1:16433/postgres",
    ),
    # Room for one server connection per database, transaction pooling.
    "one": (
        "TEST_PGBOUNCER_ONE_URL",
        "postgresql+psycopg://postgres:pooled@127.0.0.1:16434/postgres",
    ),
}
REPLICAS = 6
SLOW = REVISIONS / "5105105105a0_slow_data_migration.py"
CONCURRENT_INDEX = REVISIONS / "c0c0c0c0c0c0_index_account_names.py"


@pytest.fixture
def through(servers, server_database):
    """through(mode) -> (URL of a new database through that PgBouncer, the same
    database reached directly)."""
    servers("postgresql")  # the database is made on the server, directly

    def make(mode: str) -> tuple[str, Database]:
        variable, example = POOLERS[mode]
        if not os.environ.get(variable):
            server_unavailable(
                f"{variable} is not set; to run the {mode} pooling tests: bash "
                f".ci/pgbouncer, then export {variable}={example}"
            )
        direct = server_database("postgresql")
        pooled = make_url(os.environ[variable]).set(database=make_url(direct).database)
        try:
            with engine_for(pooled, connect_args={"connect_timeout": 10}) as engine:
                engine.connect().close()
        except SQLAlchemyError as error:
            server_unavailable(f"cannot reach PgBouncer at {pooled!r} ({variable}): {error}")
        return pooled.render_as_string(hide_password=False), Database(direct)

    return make


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
@pytest.mark.parametrize("mode", ["transaction", "session"])
def test_replicas_through_a_pooler_run_each_revision_once_and_leave_nothing(
    project, through, tmp_path, mode, engine
):
    """Six replicas start together through the pooler, half with the `alembic`
    command, half from Python. One takes the lock; the others wait while it runs a
    slow revision, then builds an index CONCURRENTLY, outside its transaction: a
    warning says that its statements there run with the role's timeouts. Every
    replica starts, each revision ran once, the index is valid; no advisory lock
    remains, and every server connection in the pool has the server's timeouts."""
    pooled_url, database = through(mode)
    project = project(database="postgresql", **engine)
    project.env[project.url_env] = project.url_for(pooled_url)
    project.add_revision(SLOW)
    project.add_revision(CONCURRENT_INDEX)

    results = replicas_start_together(project, tmp_path, REPLICAS)

    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
    logs = "".join(result.stderr for result in results)
    assert logs.count("Running upgrade 5105105105a0 -> c0c0c0c0c0c0") == 1, logs
    assert logs.count("behind a connection pooler") == 1, logs
    assert database.index_is_valid("account", "ix_account_name")
    assert set(database.applied().values()) == {"upgrade"}
    assert len(database.applied()) == len(list(project.versions.glob("*.py")))
    assert no_advisory_lock_in(database)
    assert every_pooled_connection_has_defaults(database, pooled_url)


def no_advisory_lock_in(database: Database) -> bool:
    return not database.execute(
        "SELECT pid FROM pg_locks JOIN pg_database ON pg_database.oid = pg_locks.database "
        "WHERE locktype = 'advisory' AND datname = current_database()"
    )


def every_pooled_connection_has_defaults(database: Database, pooled_url: str) -> bool:
    """Hold as many transactions open through the pooler as it has server
    connections to the database, so that each one is lent to one of them, and
    compare each one's timeouts with a new session's."""
    pooled = {
        pid
        for (pid,) in database.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    }
    defaults = database.execute(
        "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
    )[0]
    seen = {}
    with ExitStack() as holding:
        engine = holding.enter_context(engine_for(pooled_url))
        for _ in pooled:
            connection = holding.enter_context(engine.connect())
            pid, *settings = connection.execute(
                text(
                    "SELECT pg_backend_pid(), current_setting('lock_timeout'), "
                    "current_setting('statement_timeout')"
                )
            ).one()
            seen[pid] = tuple(settings)
    assert set(seen) == pooled, "each transaction should be lent another server connection"
    return all(settings == defaults for settings in seen.values())


def test_a_wrong_password_through_a_pooler_is_a_refused_login(project, through):
    """PgBouncer checks the password itself (SCRAM) and says so in words of its
    own, with no SQLSTATE: the message is still that the login was refused, in
    one line, without the password."""
    pooled_url, _ = through("transaction")
    project = project(database="postgresql")
    wrong = make_url(pooled_url).set(password="Wr0ng-Passw0rd")
    env = {project.url_env: project.url_for(wrong.render_as_string(hide_password=False))}

    result = project.alembic("current", env=env, check=False)

    assert result.returncode != 0
    assert "FAILED: The database server refused the login of 'postgres'" in result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert "Wr0ng-Passw0rd" not in result.stdout + result.stderr


def test_a_pool_with_room_for_one_connection_says_a_migration_needs_two(project, through):
    """Through PgBouncer with one server connection per database, and with an
    engine of a pool of one handed over: one line each, saying why, and nothing
    migrated."""
    pooled_url, database = through("one")
    project = project(database="postgresql")

    result = project.alembic(
        "upgrade", "head", check=False, env={project.url_env: project.url_for(pooled_url)}
    )
    assert result.returncode != 0
    assert result.stdout.startswith("FAILED: PgBouncer had no server connection free"), (
        result.stdout + result.stderr
    )
    assert "Traceback" not in result.stderr

    handing_over = (
        "from alembic import command; from sqlalchemy import create_engine; "
        "from my_program import migrations; config = migrations.alembic_config(); "
        f"config.attributes['connection'] = create_engine({database.url!r}, "
        "pool_size=1, max_overflow=0, pool_timeout=1); command.upgrade(config, 'head')"
    )
    result = project.python("-c", handing_over, check=False)
    assert "MigrationError: The pool of the engine for" in result.stderr
    assert "had no connection free for the migration" in result.stderr
    assert "alembic_version" not in database.tables()

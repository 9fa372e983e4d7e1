"""Safe at application start-up: concurrent upgrades, failed revisions, bad
configuration and file permissions, on SQLite and on both servers."""

import json
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from helpers import (
    BACKENDS,
    BIN,
    CREATE_ACCOUNT,
    ENGINE_VARIANTS,
    REVISIONS,
    SEED_ACCOUNTS,
    SEEDED_ROWS,
    SERVERS,
    Database,
    answers_id,
)
from sqlalchemy import make_url

REPLICAS = 4
# A replica that migrates with the `alembic` command: it waits for the starting
# signal, like programs/worker.py. sh -c CLI_WORKER worker GO ALEMBIC
CLI_WORKER = 'while [ ! -e "$1" ]; do sleep 0.01; done; exec "$2" upgrade head'
SECRET = "Secr3tPassw0rd"
FAIL_HALFWAY = REVISIONS / "fa11ed000001_fail_halfway.py"
LOSE_THE_CONNECTION = REVISIONS / "de1e7ed00001_lose_the_connection.py"
LOSE_THE_LOCK = REVISIONS / "10c10c000001_lose_the_lock.py"


def start_together(project, commands: list[list], go) -> list[subprocess.CompletedProcess]:
    """Start every command, then let them all go at the same moment."""
    results = []
    with ExitStack() as running:  # every process is waited for, whatever happens
        processes = [running.enter_context(project.start(*command)) for command in commands]
        time.sleep(0.5)  # let every interpreter start and reach the wait
        go.touch()
        for process, command in zip(processes, commands, strict=True):
            stdout, stderr = process.communicate(timeout=240)
            results.append(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    return results


def replicas_start_together(project, tmp_path, replicas: int) -> list[subprocess.CompletedProcess]:
    """Replicas of an application start together, half with the `alembic` command,
    half from Python (upgrade(), or upgrade_async()), as the README shows."""
    go = tmp_path / "go"
    kind = "async" if project.async_engine else "sync"
    cli = ["sh", "-c", CLI_WORKER, "worker", go, BIN / "alembic"]
    api = project.program_command("worker", go, kind)
    return start_together(project, [cli, api] * (replicas // 2), go)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_replicas_starting_together_all_start_and_run_each_revision_once(
    project_on, tmp_path, backend, engine
):
    """Replicas of an application start at the same moment on an empty database,
    half with the `alembic` command and half from Python, as the README shows. One
    takes the lock; the others queue while its revisions run: a slow one
    (revisions/5105105105a0, 2 s), then an index built CONCURRENTLY, which waits
    for every open transaction. None of theirs is: the build completes, the index
    is valid, every replica starts, and each revision has run once."""
    project, database = project_on(backend, **engine)
    project.add_revision(REVISIONS / "5105105105a0_slow_data_migration.py")
    project.add_revision(REVISIONS / "c0c0c0c0c0c0_index_account_names.py")

    results = replicas_start_together(project, tmp_path, REPLICAS)

    for result in results:
        assert result.returncode == 0, result.stderr
    logs = "".join(result.stderr for result in results)
    for step in (
        f" -> {CREATE_ACCOUNT}",
        f"{CREATE_ACCOUNT} -> {SEED_ACCOUNTS}",
        "5105105105a0 -> c0c0c0c0c0c0",
    ):
        assert logs.count(f"Running upgrade {step}") == 1, logs
    assert database.accounts() == SEEDED_ROWS
    assert database.index_is_valid("account", "ix_account_name")


@contextmanager
def lock_held(project, env=None) -> Iterator[subprocess.Popen]:
    """Another process holds the migration lock until it is killed."""
    with project.start(*project.program_command("hold_the_lock", 600), env=env) as holder:
        try:
            assert holder.stdout.readline().strip() == "holding"
            yield holder
        finally:
            holder.kill()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_a_held_lock_makes_others_wait_then_fail_clearly_or_go_on(project_on, backend, engine):
    """While another process holds the migration lock, the CLI and upgrade() with
    migration_lock_timeout=1 wait a second, then fail saying so, having run nothing;
    `alembic current`, which only reads, answers at once; and an async start-up
    hook (programs/start_up_hook.py) waits until the lock is free, its event loop
    running other tasks all along (a blocked loop would beat once or twice)."""
    project, database = project_on(backend, **engine)
    project.alembic("upgrade", CREATE_ACCOUNT)
    start_up_hook = project.program_command("start_up_hook")
    with lock_held(project) as holder, project.start(*start_up_hook) as hook:
        started = time.monotonic()
        result = project.alembic("-x", "migration_lock_timeout=1", "upgrade", "head", check=False)
        waited = time.monotonic() - started
        api = project.program("upgrade", 1, check=False)
        assert project.alembic("current").stdout.strip() == CREATE_ACCOUNT
        assert database.version() == CREATE_ACCOUNT, "nothing ran without the lock"
        holder.kill()  # the other migration ends
        hook_output, hook_errors = hook.communicate(timeout=60)

    assert result.returncode != 0
    assert "Another migration of this database has held its lock for over 1 s" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert waited >= 1, "it waited for the lock before giving up"
    assert "MigrationError: Another migration of this database has held its lock" in api.stderr

    assert hook.returncode == 0, hook_errors
    hook = json.loads(hook_output)
    assert hook["revision"] == SEED_ACCOUNTS
    assert database.accounts() == SEEDED_ROWS
    assert hook["waited"] >= 1, "it waited for the other migration"
    # 20 beats a second while the loop is free: demand a quarter of them.
    assert hook["beats"] >= hook["waited"] * 20 / 4, hook


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_a_cancelled_start_up_stops_waiting_and_migrates_nothing(project, engine):
    """upgrade_async() runs the migration in a worker thread, which asyncio.run()
    waits for: cancelled while another process holds the lock, the thread must stop
    waiting (it would wait 60 s), and no revision may run after it."""
    project = project(**engine)
    with lock_held(project):
        seconds = float(project.program("cancelled_start_up").stdout)
    assert seconds < 30, f"the cancelled upgrade went on waiting: {seconds} s"
    assert Database.sqlite_file(project.default_database).tables() == set()


# A server limit on each statement, far shorter than the wait for the lock, set
# through the URL: PostgreSQL's statement_timeout (ms), MariaDB's max_statement_time (s).
STATEMENT_LIMITS = {
    "postgresql": {"options": "-c statement_timeout=50"},
    "mysql": {"init_command": "SET SESSION max_statement_time=0.05"},
}


@pytest.mark.parametrize("backend", list(SERVERS))
def test_a_statement_time_limit_does_not_cut_the_wait_for_the_lock(project_on, backend):
    """The lock is tried, not waited for on the server: each try is one quick
    statement, so a 50 ms limit per statement leaves a 2 s wait whole, and it ends
    with the true message."""
    project, _ = project_on(backend)
    url = make_url(project.env[project.url_env]).update_query_dict(STATEMENT_LIMITS[backend])
    env = {project.url_env: url.render_as_string(hide_password=False)}
    with lock_held(project):
        started = time.monotonic()
        result = project.alembic(
            "-x", "migration_lock_timeout=2", "upgrade", "head", check=False, env=env
        )
        waited = time.monotonic() - started
    output = result.stdout + result.stderr
    assert "Another migration of this database has held its lock for over 2 s" in output
    assert "Traceback" not in output
    assert waited >= 2


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_a_revision_failing_halfway_leaves_the_revisions_before_it(project_on, backend, engine):
    """From an empty database: each revision runs in a transaction of its own, on
    every backend (the README says so), so the failing one leaves none of its work
    and those before it stay."""
    project, database = project_on(backend, **engine)
    project.add_revision(FAIL_HALFWAY)

    result = project.alembic("upgrade", "head", check=False)

    assert result.returncode != 0
    assert "this revision fails halfway" in result.stderr
    assert database.version() == SEED_ACCOUNTS
    assert database.accounts() == SEEDED_ROWS, "earlier data is never lost"
    if backend == "mysql":
        # DDL commits implicitly there: the table stays, the version does not move
        # (the rendered README says so).
        assert "half" in database.tables()
        assert database.execute("SELECT count(*) FROM half") == [(0,)]
        database.execute("DROP TABLE half")  # as the README says, before a retry
    else:
        assert "half" not in database.tables(), "none of the partial work is left"
    # An application that retries: the failed attempt let go of the lock, so the
    # second fails again on the revision (on MySQL, on the table it left), not on
    # a lock that nobody holds.
    first, second = project.program("upgrade_twice").stdout.splitlines()
    assert first == "attempt 1: RuntimeError: this revision fails halfway"
    assert second.startswith("attempt 2: ")
    assert "held its lock" not in second
    assert ("already exists" in second) is (backend == "mysql"), second


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_a_lost_connection_is_what_the_error_says(project_on, backend, engine):
    """The connection dies in the middle of a revision: the error is that, from the
    command line and from Python, not one from letting go of the lock."""
    project, database = project_on(backend, **engine)
    project.add_revision(LOSE_THE_CONNECTION)
    for result in (
        project.alembic("upgrade", "head", check=False),
        project.program("upgrade", check=False),
    ):
        assert result.returncode != 0
        assert "terminating connection" in result.stderr
        for unrelated in ("KeyError", "MissingGreenlet"):
            assert unrelated not in result.stderr
    assert database.version() == SEED_ACCOUNTS


@pytest.mark.parametrize("backend", list(SERVERS))
def test_a_lock_lost_halfway_stops_the_migration(project_on, backend):
    """The lock's connection is closed while a revision runs (a timeout of the
    server or of a pooler): the migration stops in one line saying so, and on
    PostgreSQL the revision is rolled back, unrecorded."""
    project, database = project_on(backend)
    project.add_revision(LOSE_THE_LOCK)

    result = project.alembic("upgrade", "head", check=False)

    assert result.returncode != 0
    assert "FAILED: The migration lock was lost while a revision ran" in result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    if backend == "postgresql":
        assert database.version() == SEED_ACCOUNTS
        assert "after_the_lock_was_lost" not in database.tables()
        assert "10c10c000001" not in database.applied()


def test_nothing_the_project_creates_is_readable_by_others(project, tmp_path):
    project = project()
    project.alembic("upgrade", "head")
    assert stat.S_IMODE(project.default_database.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(project.default_database.stat().st_mode) == 0o600
    with lock_held(project):  # filelock before 4 removes the file when it lets go
        lock_file = project.default_database.with_name("main.db.lock")
        assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600
    elsewhere = tmp_path / "elsewhere.db"
    project.alembic("upgrade", "head", env={project.url_env: f"sqlite:///{elsewhere}"})
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600
    assert Database.sqlite_file(elsewhere).accounts() == SEEDED_ROWS


def test_a_database_without_a_migration_lock_is_migrated_with_a_warning(project, tmp_path):
    """SQLite under a dialect name that lock.py has no entry for: the migration runs,
    and says that nothing keeps a second one from running at the same time."""
    project = project()
    database = tmp_path / "unlocked.db"
    env = {project.url_env: f"unlocked:///{database}"}
    result = project.program("unlocked_dialect", env=env)
    assert "No migration lock for unlocked databases" in result.stderr
    assert Database.sqlite_file(database).accounts() == SEEDED_ROWS


def test_a_lock_file_that_cannot_be_made_fails_clearly(project):
    """Something in the way of the SQLite lock file: one line saying where, and
    nothing migrated."""
    project = project()
    lock_file = project.default_database.with_name("main.db.lock")
    lock_file.mkdir(parents=True)
    result = project.alembic("upgrade", "head", check=False)
    assert result.returncode != 0
    assert f"Cannot create the migration lock file '{lock_file}'" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert Database.sqlite_file(project.default_database).tables() == set()


def test_sqlite_uri_filenames_lock_beside_their_file_or_in_memory_not_at_all(project, tmp_path):
    """sqlite:///file:PATH?uri=true: the lock file goes beside the file the URI
    names. A database in memory has no file, and no one to share it: no lock file."""
    project = project()
    on_disk = tmp_path / "uri.db"
    env = {project.url_env: f"sqlite:///file:{on_disk}?uri=true"}
    project.alembic("upgrade", "head", env=env)
    assert Database.sqlite_file(on_disk).accounts() == SEEDED_ROWS
    with lock_held(project, env):  # filelock before 4 removes the file when it lets go
        assert stat.S_IMODE(on_disk.with_name("uri.db.lock").stat().st_mode) == 0o600

    for in_memory in ("file::memory:?cache=shared", "file:scratch?mode=memory&cache=shared"):
        project.alembic("upgrade", "head", env={project.url_env: f"sqlite:///{in_memory}&uri=true"})
    assert not [path.name for path in project.path.iterdir() if path.suffix == ".lock"]


def test_mysql_databases_whose_names_begin_alike_have_locks_of_their_own(project, servers):
    """MySQL's lock names are per server and at most 64 characters: two databases
    whose long names share their first 56 must not wait for each other."""
    server = servers("mysql")
    names = [f"tpl_{'x' * 52}_{which}" for which in ("one", "two")]
    server.execute(*(f"CREATE DATABASE {name}" for name in names))
    try:
        project = project()
        project.env[project.url_env] = project.url_for(server.url(names[0]))
        with lock_held(project):
            other = {project.url_env: project.url_for(server.url(names[1]))}
            project.alembic("-x", "migration_lock_timeout=1", "upgrade", "head", env=other)
            assert Database(server.url(names[1])).version() == SEED_ACCOUNTS
    finally:
        server.execute(*(f"DROP DATABASE IF EXISTS {name}" for name in names))


def test_two_programs_in_one_database_each_in_a_schema_of_its_own_never_wait(
    project, servers, server_database, tmp_path
):
    """Two programs share a PostgreSQL database, the second in a schema of its own
    (search_path in its URL), as the guide says: their tables, version tables and
    migration locks are their own. While the first's lock is held, the second
    migrates; the first's own replicas still wait."""
    servers("postgresql")
    admin = server_database("postgresql")
    Database(admin).execute("CREATE SCHEMA two")
    one = project()
    one.env[one.url_env] = one.url_for(admin)
    two = one.copy_to(tmp_path / "two")
    two.env[two.url_env] = one.url_for(f"{admin}?options=-csearch_path%3Dtwo")
    with lock_held(one):
        two.alembic("-x", "migration_lock_timeout=1", "upgrade", "head")
        waited = one.alembic("-x", "migration_lock_timeout=1", "upgrade", "head", check=False)
        assert "Another migration of this database has held its lock" in waited.stdout
    assert Database(admin).execute("SELECT count(*) FROM two.account") == [(3,)]
    assert "account" not in Database(admin).tables(), "public has none of two's"

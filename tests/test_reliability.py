"""Safe at application start-up: concurrent upgrades, failed revisions, bad
configuration and file permissions, on SQLite and on both servers."""

import json
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from helpers import (
    BACKENDS,
    BIN,
    ENGINE_VARIANTS,
    SEED_ACCOUNTS,
    SEEDED_ROWS,
    SERVERS,
    Database,
    answers_id,
)

WORKERS = 4
SECRET = "Secr3tPassw0rd"

# A worker of an application: waits for the starting signal, then migrates the way
# the README shows, logging what Alembic does (and nothing from SQLAlchemy). An
# async application awaits upgrade_async() in its event loop.
API_WORKER = """
import asyncio, logging, pathlib, sys, time
logging.basicConfig(level=logging.WARNING)
logging.getLogger("alembic").setLevel(logging.INFO)
while not pathlib.Path(sys.argv[1]).exists():
    time.sleep(0.01)
from my_program import migrations
if sys.argv[2] == "async":
    asyncio.run(migrations.upgrade_async())
else:
    migrations.upgrade()
"""
CLI_WORKER = 'while [ ! -e "$1" ]; do sleep 0.01; done; exec "$2" upgrade head'

FAILING_REVISION = '''"""Fail halfway: after creating a table and inserting a row."""

import sqlalchemy as sa
from alembic import op

revision = "fa11ed000001"
down_revision = "89feb189b99d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO half (id) VALUES (1)")
    raise RuntimeError("this revision fails halfway")


def downgrade() -> None:
    op.drop_table("half")
'''


def start_together(project, commands: list[list], go) -> list[subprocess.CompletedProcess]:
    """Start every command, then let them all go at the same moment."""
    env = project.environment()
    processes = [
        subprocess.Popen(
            [str(arg) for arg in command],
            cwd=project.path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    time.sleep(0.5)  # let every interpreter start and reach the wait
    go.touch()
    results = []
    for process, command in zip(processes, commands, strict=True):
        stdout, stderr = process.communicate(timeout=240)
        results.append(subprocess.CompletedProcess(command, process.returncode, stdout, stderr))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
@pytest.mark.parametrize("path", ["api", "cli"])
def test_concurrent_upgrades_all_succeed_and_run_each_revision_once(
    project_on, tmp_path, backend, engine, path
):
    project, database = project_on(backend, **engine)
    go = tmp_path / "go"
    if path == "api":
        kind = "async" if project.async_engine else "sync"
        command = [BIN / "python", "-c", API_WORKER, go, kind]
    else:
        command = ["sh", "-c", CLI_WORKER, "worker", go, BIN / "alembic"]

    results = start_together(project, [command] * WORKERS, go)

    for result in results:
        assert result.returncode == 0, result.stderr
    logs = "".join(result.stderr for result in results)
    assert logs.count("Running upgrade  -> 6ed9f93df750") == 1, logs
    assert logs.count("Running upgrade 6ed9f93df750 -> 89feb189b99d") == 1, logs
    assert database.accounts() == SEEDED_ROWS


# Holds the migration lock for argv[1] seconds, as another migration would.
HOLD_THE_LOCK = """
import sys, time
from my_program.migrations import on_connection
from my_program.migrations.connection import migration_lock

def hold(connection):
    with migration_lock(connection, 5):
        print("holding", flush=True)
        time.sleep(float(sys.argv[1]))

on_connection(5, hold)
"""


@contextmanager
def lock_held(project, seconds: float) -> Iterator[None]:
    """Another process holds the migration lock, for `seconds` at most."""
    with subprocess.Popen(
        [str(BIN / "python"), "-c", HOLD_THE_LOCK, str(seconds)],
        cwd=project.path,
        env=project.environment(),
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout.readline().strip() == "holding"
            yield
        finally:
            holder.kill()


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_a_held_lock_makes_upgrade_wait_then_fail_clearly(project_on, backend, engine):
    project, database = project_on(backend, **engine)
    project.alembic("upgrade", "6ed9f93df750")
    with lock_held(project, 30):
        started = time.monotonic()
        result = project.alembic("-x", "lock_timeout=1", "upgrade", "head", check=False)
        waited = time.monotonic() - started
        api = project.python(
            "-c",
            "from my_program import migrations\n"
            "try:\n    migrations.upgrade(lock_timeout=1)\n"
            "except migrations.MigrationError as error:\n    print(error)\n",
        )
    assert result.returncode != 0
    assert "Another migration of this database has held its lock for over 1 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert waited >= 1, "it waited for the lock before giving up"
    assert "Another migration of this database has held its lock" in api.stdout
    assert database.accounts() == [], "nothing ran without the lock"


# An async application's start-up hook, with another task on its event loop: a
# heartbeat that counts its beats while the upgrade waits for the lock.
START_UP_HOOK = """
import asyncio, json, time
from my_program import migrations

async def start_up():
    beats = 0

    async def heartbeat():
        nonlocal beats
        while True:
            beats += 1
            await asyncio.sleep(0.05)

    task = asyncio.create_task(heartbeat())
    started = time.monotonic()
    await migrations.upgrade_async()
    waited = time.monotonic() - started
    task.cancel()
    revision = await migrations.current_async()
    print(json.dumps({"beats": beats, "waited": waited, "revision": revision}))

asyncio.run(start_up())
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_upgrade_async_waits_for_the_lock_without_blocking_the_event_loop(
    project_on, backend, engine
):
    """Another migration holds the lock for 5 s: the hook waits for it, and the
    loop runs its other tasks meanwhile (a blocked loop would beat once or twice)."""
    project, database = project_on(backend, **engine)
    with lock_held(project, 5):
        hook = json.loads(project.python("-c", START_UP_HOOK).stdout)
    assert hook["revision"] == SEED_ACCOUNTS
    assert database.accounts() == SEEDED_ROWS
    assert hook["waited"] >= 1, "it waited for the other migration"
    # 20 beats a second while the loop is free: demand a quarter of them.
    assert hook["beats"] >= hook["waited"] * 20 / 4, hook


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_a_revision_failing_halfway_leaves_the_previous_revision(project_on, backend, engine):
    project, database = project_on(backend, **engine)
    project.alembic("upgrade", "head")
    (project.versions / "2026_12_01_0000-fa11ed000001_fail_halfway.py").write_text(FAILING_REVISION)

    result = project.alembic("upgrade", "head", check=False)

    assert result.returncode != 0
    assert "this revision fails halfway" in result.stderr
    assert "89feb189b99d (head)" not in project.alembic("current").stdout
    assert "89feb189b99d" in project.alembic("current").stdout
    assert database.accounts() == SEEDED_ROWS, "earlier data is never lost"
    if backend == "mysql":
        # DDL commits implicitly there: the table stays, the version does not move
        # (the rendered README says so).
        assert "half" in database.tables()
        assert database.execute("SELECT count(*) FROM half") == [(0,)]
    else:
        assert "half" not in database.tables(), "none of the partial work is left"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_a_failing_run_keeps_completed_revisions_except_on_sqlite(project_on, backend, engine):
    """From an empty database: the servers keep each revision that completed; on
    SQLite the run is one transaction, all or nothing (the README says so)."""
    project, database = project_on(backend, **engine)
    (project.versions / "2026_12_01_0000-fa11ed000001_fail_halfway.py").write_text(FAILING_REVISION)
    assert project.alembic("upgrade", "head", check=False).returncode != 0
    current = project.alembic("current").stdout
    if backend == "sqlite":
        assert current.strip() == ""
        assert "account" not in database.tables()
    else:
        assert "89feb189b99d" in current
        assert database.accounts() == SEEDED_ROWS


BAD_URLS = {
    "unparsable": ("not a url", "is not a database URL"),
    "bad-port": (f"postgresql+psycopg://app:{SECRET}@localhost:port/app", "is not a database URL"),
    "unknown-dialect": (f"nosuchdb://app:{SECRET}@localhost/app", "names an unknown database"),
    "missing-driver": (
        f"postgresql+psycopg2://app:{SECRET}@localhost/app",
        "needs the psycopg2 driver, which is not installed: pip install psycopg2-binary",
    ),
    "unreachable": (
        f"postgresql+psycopg://app:{SECRET}@127.0.0.1:9/app",
        "Cannot reach the database server 127.0.0.1:9",
    ),
    "missing-sqlite-directory": (
        "sqlite:////nonexistent/directory/app.db",
        "Cannot open the SQLite database '/nonexistent/directory/app.db'",
    ),
}
# A Python program that lets the error escape, as a start-up script would.
UNCAUGHT = "from my_program import migrations\nmigrations.upgrade()\n"


def assert_clear_failure(result, url_env: str, says: str, *, traceback: bool = False) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert says in output
    assert url_env in output, "the message names the variable"
    assert SECRET not in output, "the password never appears"
    assert ("Traceback" in output) is traceback


@pytest.mark.parametrize("case", BAD_URLS)
def test_bad_configuration_fails_clearly_without_the_password(project, case):
    project = project()
    url, says = BAD_URLS[case]
    env = {project.url_env: url}
    assert_clear_failure(
        project.alembic("upgrade", "head", check=False, env=env), project.url_env, says
    )
    assert_clear_failure(project.alembic("current", check=False, env=env), project.url_env, says)
    # From Python, an exception with the same message; left uncaught, its traceback
    # shows our message only, not a driver's message that might hold the URL.
    uncaught = project.python("-c", UNCAUGHT, check=False, env=env)
    assert_clear_failure(uncaught, project.url_env, says, traceback=True)
    assert "MigrationError" in uncaught.stderr


@pytest.mark.parametrize("backend", list(SERVERS))
@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_a_refused_login_fails_clearly_without_the_password(project, servers, backend, engine):
    project = project(**engine)
    admin_url = servers(backend).admin_url
    url = admin_url.set(username="no_such_user", password=SECRET).render_as_string(
        hide_password=False
    )
    env = {project.url_env: project.url_for(url)}
    result = project.alembic("upgrade", "head", check=False, env=env)
    assert_clear_failure(
        result, project.url_env, "The database server refused the login of 'no_such_user'"
    )


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
    env = {project.url_env: url}
    command = project.alembic("upgrade", "head", check=False, env=env)
    assert_clear_failure(command, project.url_env, says)
    uncaught = project.python("-c", UNCAUGHT, check=False, env=env)
    assert_clear_failure(uncaught, project.url_env, says, traceback=True)
    for result in (command, uncaught):
        assert offers in result.stderr


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan"])
def test_bad_lock_timeout_is_refused_clearly(project, value):
    """A negative timeout would make MySQL's GET_LOCK wait forever."""
    project = project()
    result = project.alembic("-x", f"lock_timeout={value}", "upgrade", "head", check=False)
    assert result.returncode != 0
    assert f"lock_timeout must be a number of seconds, 0 or more, not '{value}'" in result.stderr
    assert "Traceback" not in result.stderr
    argument = repr(value) if value == "soon" else f"float({value!r})"
    api = project.python(
        "-c",
        "from my_program import migrations\n"
        f"try:\n    migrations.upgrade(lock_timeout={argument})\n"
        "except migrations.MigrationError as error:\n    print(error)\n",
    )
    assert "lock_timeout must be a number of seconds, 0 or more" in api.stdout
    assert not project.default_database.exists(), "nothing was migrated"
    assert "Traceback" not in result.stderr


def test_nothing_the_project_creates_is_readable_by_others(project, tmp_path):
    project = project()
    project.alembic("upgrade", "head")
    assert stat.S_IMODE(project.default_database.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(project.default_database.stat().st_mode) == 0o600
    elsewhere = tmp_path / "elsewhere.db"
    project.alembic("upgrade", "head", env={project.url_env: f"sqlite:///{elsewhere}"})
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600
    assert Database.sqlite_file(elsewhere).accounts() == SEEDED_ROWS

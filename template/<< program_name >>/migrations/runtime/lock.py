"""The template's runtime: the migration lock, one migration of a database at a time.

Every upgrade and downgrade holds it, so replicas that start together take turns
and each revision runs once. Nobody waits for it in a transaction: a process tries
it, and while another holds it, pauses with no transaction open, and no connection
either unless its caller handed one over. So a revision may leave Alembic's
transaction (autocommit_block()), and a CREATE INDEX CONCURRENTLY, which waits for
every open transaction, never waits for the replicas queueing behind it; and
replicas that wait hold no server connection of a pool. PostgreSQL, MySQL and
MariaDB: a lock the server holds for a connection of the lock's own (ServerLock),
checked after each revision (still_held()); SQLite: an OS file lock on
<database>.lock, beside the file. Another database has none, and a warning says so.

The lock is the history's, which its version table names: two programs sharing a
database, each in a schema of its own or with a version table of its own, never
wait for each other.
"""

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from .database import never_prepared, sqlite_file
from .errors import MigrationError

log = logging.getLogger(__name__)

# Set by upgrade_async() when it is cancelled, for the worker thread that runs the
# migration: a wait for the lock or for a retry then ends. A revision that has
# begun runs to its end.
CANCELLED: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "migration_cancelled", default=None
)
# PostgreSQL advisory locks are per database; any fixed key will do for the history
# in public.alembic_version, and a digest for another.
POSTGRESQL_KEY = 7_239_441_846_273_615_104
VERSION_TABLE = "alembic_version"


class Lock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if it is free, without waiting; true if taken."""

    def is_held(self) -> bool:
        """Still held (a server's lock: its connection alive)."""

    def release(self) -> None: ...


class ServerLock:
    """A lock the server holds for a connection of the lock's own, taken before the
    migration's connection is opened. Each try opens one, closed again unless it
    took the lock: a replica that waits holds no connection, and the one that
    migrates holds two."""

    # Run on the lock's connection: true while it holds the lock.
    STILL_HELD = text("SELECT true")

    def __init__(self, engine: Engine, table: str, schema: str | None) -> None:
        self.engine, self.table, self.schema = engine, table, schema
        self.holding = contextlib.ExitStack()
        self.connection: Connection | None = None
        self.params: dict[str, str] = {}

    def try_acquire(self) -> bool:
        with contextlib.ExitStack() as trying:
            connection = trying.enter_context(self.engine.connect())
            trying.enter_context(never_prepared(connection))
            if not self.take(connection, trying):
                return False
            self.holding, self.connection = trying.pop_all(), connection
        return True

    def take(self, connection: Connection, held: contextlib.ExitStack) -> bool:
        """Take the lock on `connection`, if it is free; what gives it back goes on
        `held`, to be done before the connection closes."""
        raise NotImplementedError

    def is_held(self) -> bool:
        if self.connection is None:
            return False
        try:
            return bool(self.connection.scalar(self.STILL_HELD, self.params))
        except DBAPIError:  # lost with its connection
            return False

    def release(self) -> None:
        with contextlib.suppress(SQLAlchemyError):  # lost: the server released it
            self.holding.close()


class PostgreSQLLock(ServerLock):
    """An advisory lock of a transaction left open, idle, while the migration runs.

    A pooler that hands each transaction to any server connection (PgBouncer's
    transaction pooling) keeps an open one on one server connection, and its end,
    or a lost connection, releases the lock: none is ever left on a pooled
    connection, as a session's lock would be. In READ COMMITTED the transaction
    holds no snapshot between statements: CREATE INDEX CONCURRENTLY does not wait
    for it. It excludes the session lock of earlier releases: old and new replicas
    of a rolling update take turns.
    """

    # The server may end a transaction left idle; this one must last.
    NO_TIME_LIMIT = text(
        "SELECT set_config(name, '0', true) FROM pg_settings "
        "WHERE name IN ('idle_in_transaction_session_timeout', 'transaction_timeout')"
    )

    def take(self, connection: Connection, held: contextlib.ExitStack) -> bool:
        connection.execution_options(isolation_level="READ COMMITTED")
        schema = self.schema or connection.scalar(text("SELECT current_schema()"))
        key = POSTGRESQL_KEY
        if (schema, self.table) != ("public", VERSION_TABLE):
            digest = hashlib.sha256(f"{schema}.{self.table}".encode()).digest()
            key = int.from_bytes(digest[:8], "big", signed=True)
        if not connection.scalar(text(f"SELECT pg_try_advisory_xact_lock({key})")):
            return False
        connection.execute(self.NO_TIME_LIMIT)
        return True  # the transaction's end, as the connection closes, releases it


class MySQLLock(ServerLock):
    """GET_LOCK: named per server, so the name holds the database (MySQL's schema),
    and a version table other than alembic_version: at most 64 characters, as
    MySQL allows, with a digest of a name too long for that."""

    STILL_HELD = text("SELECT IS_USED_LOCK(:name) = CONNECTION_ID()")
    # The longest wait_timeout: the lock's connection waits, idle, for the migration.
    IDLE_FOR_A_YEAR = text("SET SESSION wait_timeout = 31536000")

    def take(self, connection: Connection, held: contextlib.ExitStack) -> bool:
        database = self.schema or connection.scalar(text("SELECT DATABASE()"))
        if database is None:  # an engine handed over without one
            raise MigrationError(
                "The MySQL connection has no database: name one in its URL, as in "
                "mysql+pymysql://user:password@host:3306/dbname."
            )
        history = (
            database if self.table == VERSION_TABLE else f"{database}.{self.table}"
        )
        name = f"alembic:{history}"
        if len(name) > 64:  # two long names that begin alike must not share a lock
            digest = hashlib.sha256(history.encode()).hexdigest()[:16]
            name = f"alembic:{history[:39]}:{digest}"
        taken = connection.scalar(text("SELECT GET_LOCK(:name, 0)"), {"name": name})
        connection.commit()
        if taken is None:  # on an error, such as a killed thread
            raise MigrationError(
                "The database refused the migration lock (GET_LOCK returned NULL): "
                "see its error log, then try again."
            )
        if taken:  # a connection back in a pool would keep it: given back first
            self.params = {"name": name}
            give_back = text("SELECT RELEASE_LOCK(:name)")
            held.callback(connection.execute, give_back, self.params)
            connection.execute(self.IDLE_FOR_A_YEAR)
        return bool(taken)


class FileLock:
    """An OS file lock (filelock's) on a file beside the database file."""

    def __init__(self, database: str) -> None:
        import filelock  # only SQLite needs it

        self.path = f"{database}.lock"
        self.file_lock = filelock.FileLock(self.path, mode=0o600, thread_local=False)

    def try_acquire(self) -> bool:
        import filelock

        try:
            self.file_lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        except OSError as error:
            raise MigrationError(
                f"Cannot create the migration lock file {self.path!r} beside the SQLite "
                f"database ({error.strerror or error}): check that its directory is "
                "writable."
            ) from None
        return True

    def is_held(self) -> bool:
        return bool(self.file_lock.is_locked)

    def release(self) -> None:
        self.file_lock.release()


class NoLock:
    """For a database that needs none (SQLite in memory: private to its
    connection) or that has none here (then with a warning)."""

    def try_acquire(self) -> bool:
        return True

    def is_held(self) -> bool:
        return True

    def release(self) -> None:
        pass


def sqlite_lock(engine: Engine, table: str, schema: str | None) -> Lock:
    database = sqlite_file(engine.url)
    if database is None:
        return NoLock()  # in memory, private to its connection: nobody to wait for
    if (schema, table) != (None, VERSION_TABLE):  # main.db.billing_version.lock
        database += "".join(f".{part}" for part in (schema, table) if part)
    return FileLock(database)


LOCKS: dict[str, Callable[[Engine, str, str | None], Lock]] = {
    "postgresql": PostgreSQLLock,
    "mysql": MySQLLock,
    "mariadb": MySQLLock,
    "sqlite": sqlite_lock,
}


def lock_for(engine: Engine, table: str, schema: str | None) -> Lock:
    """The migration lock of the history whose version table is `table`, in
    `schema` (None: the connection's), on the engine's database."""
    make = LOCKS.get(engine.dialect.name)
    if make is None:
        log.warning(
            "No migration lock for %s databases: two processes migrating at once "
            "could both run a revision. Run one migration at a time.",
            engine.dialect.name,
        )
        return NoLock()
    return make(engine, table, schema)


# The lock the running migration holds, for still_held().
HOLDING: contextvars.ContextVar[Lock | None] = contextvars.ContextVar(
    "migration_lock", default=None
)


@contextlib.contextmanager
def migration_lock(
    engine: Engine,
    timeout: float,
    table: str = VERSION_TABLE,
    schema: str | None = None,
) -> Iterator[None]:
    """Hold the migration lock of a history (its version table, `table` in
    `schema`) on the engine's database; wait at most `timeout` seconds for it, then
    raise MigrationError. On an asyncio engine's sync_engine, from inside its event
    loop (greenlet_spawn(), run_sync())."""
    lock = lock_for(engine, table, schema)
    waits = pauses_until(time.monotonic() + timeout)
    while not lock.try_acquire():
        pause = next(waits, None)
        if pause is None:
            held = (
                "holds its lock"
                if timeout == 0
                else f"has held its lock for over {timeout:g} s"
            )
            raise MigrationError(
                f"Another migration of this database {held}. Try again when it has "
                "finished, or wait longer: migration_lock_timeout=SECONDS from Python, "
                "`alembic -x migration_lock_timeout=SECONDS ...` on the command line."
            )
        sleep(engine, pause)
    holding = HOLDING.set(lock)
    try:
        yield
    finally:
        HOLDING.reset(holding)
        lock.release()


def still_held(*_: object, **__: object) -> None:
    """After each revision (Alembic's on_version_apply, in its transaction): stop if
    the lock was lost meanwhile, when a timeout of the server or of a pooler closed
    its idle connection, and another migration may have begun."""
    lock = HOLDING.get()
    if lock is not None and not lock.is_held():
        raise MigrationError(
            "The migration lock was lost while a revision ran: a timeout of the "
            "server or of a connection pooler closed its idle connection. On "
            "PostgreSQL the revision was rolled back; elsewhere, see what it did. "
            "Then upgrade again, and raise that timeout."
        )


def pauses_until(
    deadline: float, first: float = 0.05, longest: float = 1.0
) -> Iterator[float]:
    """The pauses between tries until `deadline` (time.monotonic()): short at
    first so that a quick migration delays nobody, then up to `longest`, each
    shortened at random so that waiting replicas do not all try at once."""
    pause = first
    while (left := deadline - time.monotonic()) > 0:
        yield min(left, pause * random.uniform(0.5, 1))
        pause = min(pause * 2, longest)


def sleep(connectable: Engine | Connection, seconds: float) -> None:
    """Pause; on an asyncio engine's (in its event loop), with the loop running
    other tasks meanwhile. A migration whose caller was cancelled
    (CANCELLED) stops here, with a MigrationError."""
    cancelled = CANCELLED.get()
    if connectable.dialect.is_async:
        from sqlalchemy.util import await_only

        await_only(asyncio.sleep(seconds))
    elif cancelled:
        cancelled.wait(seconds)
    else:
        time.sleep(seconds)
    if cancelled and cancelled.is_set():
        raise MigrationError(
            "The migration was cancelled while it waited: nothing more was run."
        )

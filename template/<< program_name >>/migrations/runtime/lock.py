"""The template's runtime: the migration lock, one migration of a database at a time.

Every upgrade and downgrade holds it, so replicas that start together take turns
and each revision runs once. It is never a transaction, and nobody waits for it in
one: a process tries it, and while another holds it, pauses with no transaction
open. So a revision may leave Alembic's transaction (autocommit_block()), and a
CREATE INDEX CONCURRENTLY, which waits for every open transaction, never waits for
the replicas queueing behind it. PostgreSQL: an advisory lock; MySQL and MariaDB:
GET_LOCK; SQLite: an OS file lock on <database>.lock, beside the file. Another
database has none, and a warning says so.

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

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from .database import sqlite_file
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

    def release(self) -> None: ...


class SessionLock:
    """A lock the server keeps for the connection's session: it outlives
    transactions, and a lost connection releases it."""

    def __init__(
        self, connection: Connection, take: str, give_back: str, **params: object
    ) -> None:
        self.connection, self.params = connection, params
        self.take, self.give_back = text(take), text(give_back)

    def try_acquire(self) -> bool:
        taken = self.connection.scalar(self.take, self.params)
        self.connection.commit()  # end the statement's transaction at once
        if taken is None:  # MySQL's GET_LOCK on an error, such as a killed thread
            raise MigrationError(
                "The database refused the migration lock (GET_LOCK returned NULL): "
                "see its error log, then try again."
            )
        return bool(taken)

    def release(self) -> None:
        if self.connection.invalidated:  # lost: the server has released it
            return
        with contextlib.suppress(DBAPIError):
            self.connection.rollback()  # whatever a failed migration left open
            self.connection.execute(self.give_back, self.params)
            self.connection.commit()


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

    def release(self) -> None:
        self.file_lock.release()


class NoLock:
    """For a database that needs none (SQLite in memory: private to its
    connection) or that has none here (then with a warning)."""

    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def postgresql_lock(connection: Connection, table: str, schema: str | None) -> Lock:
    schema = schema or connection.scalar(text("SELECT current_schema()"))
    connection.commit()
    key = POSTGRESQL_KEY
    if (schema, table) != ("public", VERSION_TABLE):
        digest = hashlib.sha256(f"{schema}.{table}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
    return SessionLock(
        connection,
        f"SELECT pg_try_advisory_lock({key})",
        f"SELECT pg_advisory_unlock({key})",
    )


def mysql_lock(connection: Connection, table: str, schema: str | None) -> Lock:
    """A named lock; names are per server, so this one names the database (MySQL's
    schema), and a version table other than alembic_version: at most 64 characters,
    as MySQL allows, with a digest of a name too long for that."""
    database = schema or connection.scalar(text("SELECT DATABASE()"))
    connection.commit()
    if database is None:  # a connection handed over without one
        raise MigrationError(
            "The MySQL connection has no database: name one in its URL, as in "
            "mysql+pymysql://user:password@host:3306/dbname."
        )
    history = database if table == VERSION_TABLE else f"{database}.{table}"
    name = f"alembic:{history}"
    if len(name) > 64:  # two long names that begin alike must not share a lock
        digest = hashlib.sha256(history.encode()).hexdigest()[:16]
        name = f"alembic:{history[:39]}:{digest}"
    return SessionLock(
        connection, "SELECT GET_LOCK(:name, 0)", "SELECT RELEASE_LOCK(:name)", name=name
    )


def sqlite_lock(connection: Connection, table: str, schema: str | None) -> Lock:
    database = sqlite_file(connection.engine.url)
    if database is None:
        return NoLock()  # in memory, private to its connection: nobody to wait for
    if (schema, table) != (None, VERSION_TABLE):  # main.db.billing_version.lock
        database += "".join(f".{part}" for part in (schema, table) if part)
    return FileLock(database)


LOCKS: dict[str, Callable[[Connection, str, str | None], Lock]] = {
    "postgresql": postgresql_lock,
    "mysql": mysql_lock,
    "mariadb": mysql_lock,
    "sqlite": sqlite_lock,
}


def lock_for(connection: Connection, table: str, schema: str | None) -> Lock:
    """The migration lock of the history whose version table is `table`, in
    `schema` (None: the connection's), on the connection's database."""
    make = LOCKS.get(connection.dialect.name)
    if make is None:
        log.warning(
            "No migration lock for %s databases: two processes migrating at once "
            "could both run a revision. Run one migration at a time.",
            connection.dialect.name,
        )
        return NoLock()
    return make(connection, table, schema)


@contextlib.contextmanager
def migration_lock(
    connection: Connection,
    timeout: float,
    table: str = VERSION_TABLE,
    schema: str | None = None,
) -> Iterator[None]:
    """Hold the migration lock of a history (its version table, `table` in
    `schema`) on `connection`; wait at most `timeout` seconds for it, then raise
    MigrationError."""
    lock = lock_for(connection, table, schema)
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
        sleep(connection, pause)
    try:
        yield
    finally:
        lock.release()


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


def sleep(connection: Connection, seconds: float) -> None:
    """Pause; on an asyncio engine's connection (in run_sync()), with its event
    loop running other tasks meanwhile. A migration whose caller was cancelled
    (CANCELLED) stops here, with a MigrationError."""
    cancelled = CANCELLED.get()
    if connection.dialect.is_async:
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

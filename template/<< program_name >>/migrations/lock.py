"""The migration lock: one migration of a database at a time.

Every upgrade and downgrade holds it, from the `alembic` command and from Python,
so replicas that start together take turns and each revision runs once.

The lock is never a transaction, and nobody waits for it inside one: a process
tries to take it, and if another holds it, pauses with no transaction open and
tries again, for at most `timeout` seconds. That leaves Alembic the only owner of
the connection's transactions, so a revision may commit and leave them
(``op.get_context().autocommit_block()``), and a PostgreSQL
``CREATE INDEX CONCURRENTLY``, which waits for every open transaction, never
waits for the replicas queueing behind it.

One entry per backend in LOCKS:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``);
- MySQL and MariaDB: a named lock (``GET_LOCK`` with no wait);
- SQLite: an OS file lock on a file beside the database, ``<database>.lock``;
  SQLite's only lock of its own is its write lock, held by a transaction.

For another database there is no lock: a warning says so on every run.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from ..settings import sqlite_file
from .errors import (
    lock_busy_error,
    lock_file_error,
    lock_refused_error,
    no_database_error,
)

if TYPE_CHECKING:  # importing sqlalchemy.ext.asyncio needs greenlet, which only
    # projects with an asyncio engine install
    from sqlalchemy.ext.asyncio import AsyncConnection

# Set in connection.info while the connection holds the lock, so that code running
# on it (env.py, under upgrade()) does not try to take it a second time.
HELD = "migration_lock_held"

log = logging.getLogger(__name__)


class Lock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if it is free, without waiting; true if taken."""

    def release(self) -> None: ...


class SessionLock:
    """A lock the server keeps for the connection's session: it outlives
    transactions, and a lost connection releases it."""

    def __init__(
        self, connection: Connection, take: str, release: str, **params: object
    ) -> None:
        self.connection, self.params = connection, params
        self.take, self.give_back = text(take), text(release)

    def try_acquire(self) -> bool:
        taken = self.connection.scalar(self.take, self.params)
        self.connection.commit()  # end the statement's transaction at once
        if taken is None:  # MySQL's GET_LOCK on an error, such as a killed thread
            raise lock_refused_error()
        return bool(taken)

    def release(self) -> None:
        if self.connection.invalidated:  # lost: the server has released it
            return
        with contextlib.suppress(DBAPIError):
            self.connection.rollback()  # whatever a failed migration left open
            self.connection.execute(self.give_back, self.params)
            self.connection.commit()


class SQLiteFileLock:
    """An OS file lock (filelock's) on a file beside the database file."""

    def __init__(self, database: str) -> None:
        from filelock import FileLock  # only SQLite needs it

        self.path = f"{database}.lock"
        self.file_lock = FileLock(self.path, mode=0o600, thread_local=False)

    def try_acquire(self) -> bool:
        from filelock import Timeout

        try:
            self.file_lock.acquire(timeout=0)
        except Timeout:
            return False
        except OSError as error:
            raise lock_file_error(self.path, error) from None
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


# PostgreSQL advisory locks are per database; any fixed key will do.
POSTGRESQL_KEY = 7_239_441_846_273_615_104


def mysql_lock(connection: Connection) -> Lock:
    """A named lock; names are per server, so this one names the database (at
    most 64 characters, as MySQL allows)."""
    database = connection.scalar(text("SELECT DATABASE()"))
    connection.commit()
    if database is None:
        raise no_database_error()
    name = f"alembic:{database[:56]}"
    return SessionLock(
        connection, "SELECT GET_LOCK(:name, 0)", "SELECT RELEASE_LOCK(:name)", name=name
    )


def sqlite_lock(connection: Connection) -> Lock:
    database = sqlite_file(connection.engine.url)
    if database is None:
        return NoLock()  # in memory, private to its connection: nobody to wait for
    return SQLiteFileLock(database)


LOCKS: dict[str, Callable[[Connection], Lock]] = {
    "postgresql": lambda connection: SessionLock(
        connection,
        f"SELECT pg_try_advisory_lock({POSTGRESQL_KEY})",
        f"SELECT pg_advisory_unlock({POSTGRESQL_KEY})",
    ),
    "mysql": mysql_lock,
    "mariadb": mysql_lock,
    "sqlite": sqlite_lock,
}


def lock_for(connection: Connection) -> Lock:
    """The migration lock of the connection's database."""
    make = LOCKS.get(connection.dialect.name)
    if make is None:
        log.warning(
            "No migration lock for %s databases: two processes migrating at once "
            "could both run a revision. Run one migration at a time.",
            connection.dialect.name,
        )
        return NoLock()
    return make(connection)


def pauses(timeout: float) -> Iterator[float]:
    """The pauses between tries until `timeout` seconds from now: short at first so
    that a quick migration delays nobody, then up to a second, each shortened at
    random so that waiting replicas do not all try at the same moment."""
    return pauses_until(time.monotonic() + timeout)


def pauses_until(
    deadline: float, first: float = 0.05, longest: float = 1.0
) -> Iterator[float]:
    pause = first
    while (left := deadline - time.monotonic()) > 0:
        yield min(left, pause * random.uniform(0.5, 1))
        pause = min(pause * 2, longest)


@contextlib.contextmanager
def migration_lock(connection: Connection, timeout: float | None) -> Iterator[None]:
    """Hold the migration lock on `connection`; wait at most `timeout` seconds for
    it, then raise MigrationError. Held already on this connection, or no timeout
    (work that only reads): go on without it."""
    if timeout is None or connection.info.get(HELD):
        yield
        return
    lock = lock_for(connection)
    waits = pauses(timeout)
    while not lock.try_acquire():
        time.sleep(next_pause(waits, timeout))
    info = connection.info  # kept: read again, a lost connection would reconnect
    info[HELD] = True
    try:
        yield
    finally:
        del info[HELD]
        lock.release()


@contextlib.asynccontextmanager
async def migration_lock_async(
    connection: "AsyncConnection", timeout: float | None
) -> AsyncIterator[None]:
    """migration_lock(), for an AsyncConnection: the event loop runs other tasks
    while this waits."""
    if timeout is None or connection.info.get(HELD):
        yield
        return
    lock = await connection.run_sync(lock_for)
    waits = pauses(timeout)
    while not await connection.run_sync(lambda _: lock.try_acquire()):
        await asyncio.sleep(next_pause(waits, timeout))
    info = connection.info  # kept: read again, a lost connection would reconnect
    info[HELD] = True
    try:
        yield
    finally:
        del info[HELD]
        await connection.run_sync(lambda _: lock.release())


def next_pause(waits: Iterator[float], timeout: float) -> float:
    """The next pause, or a MigrationError when the time is up."""
    pause = next(waits, None)
    if pause is None:
        raise lock_busy_error(timeout)
    return pause

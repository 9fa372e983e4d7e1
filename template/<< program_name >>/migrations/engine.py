"""The engine migrations run on, and the one way to run work on its connections.

env.py uses this for the `alembic` command, and so does the package's Python API;
both work with SQLAlchemy's synchronous engine and with its asyncio one
(settings.ASYNC_ENGINE says which this project uses):

- engine_for() checks the URL: a bad one, a driver of the wrong kind or a missing
  one becomes a MigrationError (errors.py), and so does a failed connection;
- on SQLite, DDL runs inside real transactions, so a failed revision leaves nothing;
- on_connection() runs work on a connection of either kind of engine, from
  synchronous code, and under the migration lock (lock.py) when asked to;
  on_connection_async() does the same from a running event loop.
"""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, pool
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
)

from ..settings import ASYNC_ENGINE, sqlite_file
from .errors import (
    cannot_connect_error,
    event_loop_running_error,
    missing_dependency_error,
    missing_driver_error,
    no_database_error,
    not_a_url_error,
    password_given_twice_error,
    sqlite_busy_error,
    unencoded_at_error,
    unknown_database_error,
    unknown_option_error,
    wrong_kind_of_driver_error,
)
from .lock import HELD, migration_lock, migration_lock_async

if TYPE_CHECKING:  # importing sqlalchemy.ext.asyncio needs greenlet, which only
    # projects with an asyncio engine install
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")

# How long SQLite waits for its write lock, held by another connection's
# transaction, before it fails with "database is locked" (seconds).
SQLITE_BUSY_TIMEOUT = 60.0


# Query options that carry a password: moved to the URL's password, which
# SQLAlchemy and Alembic never print (they print the query as it is).
PASSWORD_OPTIONS = ("password", "passwd")


def parse_url(raw: str) -> URL:
    """The URL, with a dialect SQLAlchemy knows (the driver may still be missing)
    and its password where nothing prints it."""
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise not_a_url_error() from None
    backend = url.get_backend_name()
    server = backend != "sqlite"
    if "@" in (url.host or "") or (server and "@" in (url.database or "")):
        # user:p@ss@host reads as password "p", host "ss@host": look nothing up
        raise unencoded_at_error() from None
    if backend in ("mysql", "mariadb") and not url.database:
        raise no_database_error()  # a MySQL session may have none; Alembic can't
    url = with_password_out_of_query(url)
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise unknown_database_error(url) from None
    return url


def with_password_out_of_query(url: URL) -> URL:
    """?password=...: the same connection, with the password moved to its place."""
    options = [option for option in url.query if option in PASSWORD_OPTIONS]
    if not options:
        return url
    password = url.query[options[0]]
    if len(options) > 1 or url.password is not None or not isinstance(password, str):
        raise password_given_twice_error()
    return url.set(password=password).difference_update_query(options)


def engine_for(raw_url: str) -> "Engine | AsyncEngine":
    """An engine for the URL, its driver checked: an AsyncEngine if ASYNC_ENGINE.

    It keeps no connection open (NullPool).
    """
    url = parse_url(raw_url)
    dialect = url.get_dialect()
    if ASYNC_ENGINE:  # psycopg serves both engines: ask for its asyncio side
        dialect = dialect.get_async_dialect_cls(url)
    if dialect.is_async != ASYNC_ENGINE:
        raise wrong_kind_of_driver_error(url, dialect.is_async)
    try:
        dialect.import_dbapi()
    except ImportError as error:
        raise missing_driver_error(url, error) from None
    options: dict[str, Any] = {"poolclass": pool.NullPool}
    if url.get_backend_name() == "sqlite":
        if database := sqlite_file(url):
            create_private_file(url, database)
        if "timeout" not in url.query:  # the URL's own (?timeout=SECONDS) wins
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}
    if not ASYNC_ENGINE:
        return with_sqlite_transactions(create_engine(url, **options))
    try:
        from sqlalchemy.ext.asyncio import create_async_engine
    except ImportError:  # SQLAlchemy's asyncio needs greenlet
        raise missing_dependency_error("greenlet") from None
    engine = create_async_engine(url, **options)
    with_sqlite_transactions(engine.sync_engine)
    return engine


def is_engine(candidate: object) -> bool:
    """True for an Engine or an AsyncEngine (an AsyncConnection has run_sync)."""
    if isinstance(candidate, Engine):
        return True
    return hasattr(candidate, "sync_engine") and not hasattr(candidate, "run_sync")


def on_connection(
    engine: "Engine | AsyncEngine",
    work: Callable[..., T],
    *args: Any,
    migration_lock_timeout: float | None = None,
) -> T:
    """work(connection, *args) on a new connection of either kind of engine (an
    AsyncEngine's run_sync() hands work a Connection all the same); with a
    migration_lock_timeout, under the migration lock.

    Not from a running event loop: await on_connection_async() there.
    """
    if not isinstance(engine, Engine):  # an asyncio engine: it needs an event loop
        coroutine = on_connection_async(
            engine, work, *args, migration_lock_timeout=migration_lock_timeout
        )
        return run_outside_a_loop(coroutine)
    with (
        connect(engine) as connection,
        migration_lock(connection, migration_lock_timeout),
        sqlite_busy_explained(engine.url),
    ):
        return work(connection, *args)


async def on_connection_async(
    engine: "Engine | AsyncEngine",
    work: Callable[..., T],
    *args: Any,
    migration_lock_timeout: float | None = None,
) -> T:
    """on_connection(), from a running event loop, without blocking it: a
    synchronous engine's work runs in a thread."""
    if isinstance(engine, Engine):
        return await asyncio.to_thread(
            on_connection,
            engine,
            work,
            *args,
            migration_lock_timeout=migration_lock_timeout,
        )
    async with (
        connect_async(engine) as connection,
        migration_lock_async(connection, migration_lock_timeout),
    ):
        with sqlite_busy_explained(engine.url):
            return await connection.run_sync(work, *args)


@contextlib.contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection, or a MigrationError saying why there is none."""
    try:
        connection = engine.connect()
    except (DBAPIError, OSError) as error:  # asyncpg's OSError is not wrapped
        raise cannot_connect_error(engine.url, error) from None
    except TypeError as error:  # the driver's connect() refused a query option
        raise unknown_option_error(engine.url, error) from None
    with connection:
        yield connection


@contextlib.asynccontextmanager
async def connect_async(engine: "AsyncEngine") -> AsyncIterator["AsyncConnection"]:
    """connect(), for an AsyncEngine."""
    connection = engine.connect()
    try:
        await connection.start()
    except (DBAPIError, OSError) as error:
        raise cannot_connect_error(engine.url, error) from None
    except TypeError as error:
        raise unknown_option_error(engine.url, error) from None
    try:
        yield connection
    finally:
        await connection.close()


@contextlib.contextmanager
def sqlite_busy_explained(url: URL) -> Iterator[None]:
    """SQLite's "database is locked", once its busy timeout has passed, in words
    that say who holds it and what to do."""
    try:
        yield
    except OperationalError as error:
        if url.get_backend_name() != "sqlite" or "database is locked" not in str(
            error.orig
        ):
            raise
        timeout = float(url.query.get("timeout", SQLITE_BUSY_TIMEOUT))
        raise sqlite_busy_error(url, timeout) from None


def run_outside_a_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(), or a clear error where it cannot work: in a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop running: the usual case, a script or `alembic`
        return asyncio.run(coroutine)
    coroutine.close()
    raise event_loop_running_error()


def with_sqlite_transactions(engine: Engine) -> Engine:
    """On SQLite: transactional DDL, and the write lock taken when a migration begins.

    Python's sqlite3 module (aiosqlite's too) begins transactions only before
    INSERT, UPDATE and DELETE, so DDL would run outside any. Here SQLAlchemy begins
    every transaction itself, so a failed revision rolls back completely; and on a
    connection that holds the migration lock with BEGIN IMMEDIATE, which takes the
    write lock at once, so that a migration never fails half-way for want of it.
    In AUTOCOMMIT mode (``autocommit_block()``) nothing is begun. Other databases'
    engines are returned as they are.
    """
    if engine.name != "sqlite":
        return engine

    @event.listens_for(engine, "connect")
    def hand_transactions_to_sqlalchemy(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        migrating = connection.info.get(HELD, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if migrating else "BEGIN")

    return engine


def create_private_file(url: URL, database: str) -> None:
    """Create a new SQLite file readable by its owner only (SQLite would use the
    umask); a MigrationError if it cannot be, before any driver tries (aiosqlite's
    thread would print a traceback of its own)."""
    try:
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        if not os.path.isdir(database):
            return  # there already: SQLite opens it
        raise cannot_connect_error(url, IsADirectoryError(database)) from None
    except OSError as error:  # no such directory, no permission
        raise cannot_connect_error(url, error) from None

"""How migrations connect: the URL checked, clear errors, and one migration at a time.

env.py uses this for the `alembic` command, and so does the package's Python API;
both work with SQLAlchemy's synchronous engine and with its asyncio one
(settings.ASYNC_ENGINE says which this project uses):

- a bad URL, a driver of the wrong kind or a missing one, an unreachable server or
  a refused login becomes a MigrationError that names the variable and says what
  to do, never the password;
- SQLite runs its DDL inside real transactions, so a failed revision leaves nothing;
- a lock, the database's own, makes concurrent upgrades queue instead of racing.
"""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from alembic.util import CommandError
from sqlalchemy import (
    URL,
    Connection,
    Engine,
    create_engine,
    event,
    make_url,
    pool,
    text,
)
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from ..settings import ASYNC_ENGINE, DATABASE_URL_ENV, DRIVERNAMES

if TYPE_CHECKING:  # importing sqlalchemy.ext.asyncio needs greenlet, which only
    # projects with an asyncio engine install
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")

# The distribution is named after the package (see pyproject.toml).
DISTRIBUTION = __name__.split(".")[0]
# How long to wait for another process's migration to finish, in seconds.
LOCK_TIMEOUT = 60.0
# The package, and this project's extra, that provide each driver.
DRIVERS = {
    "psycopg": ("psycopg", "postgresql"),
    "psycopg2": ("psycopg2-binary", None),
    "asyncpg": ("asyncpg", None),
    "pymysql": ("PyMySQL", "mysql"),
    "aiomysql": ("aiomysql", "mysql"),
    "mysqldb": ("mysqlclient", None),
    "asyncmy": ("asyncmy", None),
    "aiosqlite": ("aiosqlite", None),
}
# How drivers say "wrong user or password": MySQL's error codes, and libpq's words
# (PostgreSQL sends no SQLSTATE while the connection is being made).
LOGIN_REFUSED_CODES = {1044, 1045, 1698}
LOGIN_REFUSED_WORDS = ("password authentication failed", 'role "')
# PostgreSQL advisory locks are per database; any fixed key will do.
POSTGRESQL_LOCK_KEY = 7_239_441_846_273_615_104
# The SQLSTATE of a lock wait cut short by lock_timeout.
POSTGRESQL_LOCK_NOT_AVAILABLE = "55P03"


class MigrationError(CommandError):
    """Migrations cannot run; the message says why and what to do.

    A CommandError, so the `alembic` command prints it without a traceback.
    """


def parse_url(raw: str) -> URL:
    """The URL, with a dialect SQLAlchemy knows (the driver may still be missing)."""
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise MigrationError(
            f"{DATABASE_URL_ENV} is not a database URL. Expected "
            "dialect+driver://user:password@host:port/database, for example "
            "postgresql+psycopg://app:secret@localhost:5432/app, with special "
            "characters in the password URL-encoded."
        ) from None
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise MigrationError(
            f"{DATABASE_URL_ENV} names an unknown database, {url.drivername!r}. "
            f"Use {driver_choices()}."
        ) from None
    return url


def driver_choices() -> str:
    return ", ".join(DRIVERNAMES.values())


def engine_for(
    raw_url: str, lock_timeout: float = LOCK_TIMEOUT
) -> "Engine | AsyncEngine":
    """An engine for the URL, its driver checked: an AsyncEngine if ASYNC_ENGINE.

    connect() with an Engine, connect_async() with an AsyncEngine.
    """
    url = parse_url(raw_url)
    dialect = url.get_dialect()
    if ASYNC_ENGINE:  # psycopg serves both engines: ask for its asyncio side
        dialect = dialect.get_async_dialect_cls(url)
    if dialect.is_async != ASYNC_ENGINE:
        raise MigrationError(wrong_kind_of_driver(url, dialect.is_async))
    try:
        dialect.import_dbapi()
    except ImportError as error:
        raise MigrationError(missing_driver(url, error)) from None
    options: dict[str, Any] = {"poolclass": pool.NullPool}
    if url.get_backend_name() == "sqlite":
        create_private_file(url.database)
        # How long to wait for SQLite's write lock, held by another migration.
        options["connect_args"] = {"timeout": lock_timeout}
    if not ASYNC_ENGINE:
        return with_sqlite_transactions(create_engine(url, **options))
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, **options)
    with_sqlite_transactions(engine.sync_engine)
    return engine


@contextlib.contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection, or a MigrationError saying why there is none."""
    try:
        connection = engine.connect()
    except (DBAPIError, OSError) as error:  # asyncpg's OSError is not wrapped
        raise MigrationError(cannot_connect(engine.url, error)) from None
    with connection:
        yield connection


@contextlib.asynccontextmanager
async def connect_async(engine: "AsyncEngine") -> AsyncIterator["AsyncConnection"]:
    """connect(), for an AsyncEngine."""
    connection = engine.connect()
    try:
        await connection.start()
    except (DBAPIError, OSError) as error:
        raise MigrationError(cannot_connect(engine.url, error)) from None
    try:
        yield connection
    finally:
        await connection.close()


def run_outside_a_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(), or a clear error where it cannot work: in a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop running: the usual case, a script or `alembic`
        pass
    else:
        coroutine.close()
        raise MigrationError(
            "This would start an event loop inside the running one. In async code, "
            "await migrations.upgrade_async() or current_async(); for other commands, "
            "await asyncio.to_thread(...) them."
        )
    return asyncio.run(coroutine)


def wrong_kind_of_driver(url: URL, is_async: bool) -> str:
    given = "an asyncio" if is_async else "a synchronous"
    wanted = "asyncio" if ASYNC_ENGINE else "synchronous"
    return (
        f"{DATABASE_URL_ENV} names {url.drivername!r}, {given} driver, but this "
        f"project migrates with SQLAlchemy's {wanted} engine. Use {driver_choices()}."
    )


def missing_driver(url: URL, error: ImportError) -> str:
    module = error.name or url.get_driver_name()
    package, extra = DRIVERS.get(module, (module, None))
    install = (
        f"pip install '{DISTRIBUTION}[{extra}]'" if extra else f"pip install {package}"
    )
    return (
        f"{DATABASE_URL_ENV} needs the {url.get_driver_name()} driver, which is not "
        f"installed: {install}"
    )


def cannot_connect(url: URL, error: Exception) -> str:
    """What went wrong, from a driver's error (wrapped by SQLAlchemy or not)."""
    error = getattr(error, "orig", error)
    code = (error.args or [None])[0]
    words = str(error)
    refused = code in LOGIN_REFUSED_CODES or any(
        w in words for w in LOGIN_REFUSED_WORDS
    )
    if refused:
        return (
            f"The database server refused the login of {url.username!r} given by "
            f"{DATABASE_URL_ENV}: check the user name and the password (URL-encoded)."
        )
    if url.get_backend_name() == "sqlite":
        return (
            f"Cannot open the SQLite database {url.database!r} ({DATABASE_URL_ENV}): "
            "check that its directory exists and is writable."
        )
    detail = redact((str(error).strip() or type(error).__name__).splitlines()[0], url)
    return (
        f"Cannot reach the database server {url.host}:{url.port or 'default port'} "
        f"given by {DATABASE_URL_ENV}: {detail}. Check the host and port, and that "
        "special characters in the password are URL-encoded."
    )


def redact(message: str, url: URL) -> str:
    """The message, with the URL's password (plain or URL-encoded) masked."""
    if url.password:
        for secret in {url.password, quote(url.password, safe="")}:
            message = message.replace(secret, "***")
    return message


def with_sqlite_transactions(engine: Engine) -> Engine:
    """On SQLite: transactional DDL, and the write lock taken when a migration begins.

    Python's sqlite3 module (aiosqlite's too) begins transactions only before
    INSERT, UPDATE and DELETE, so DDL would run outside any. Here SQLAlchemy begins
    every transaction itself, so a failed revision rolls back completely; and a
    migration's with BEGIN IMMEDIATE, which takes the write lock at once: a second
    migration waits for the first (for at most lock_timeout) instead of
    interleaving with it. Other databases' engines are returned as they are.
    """
    if engine.name != "sqlite":
        return engine

    @event.listens_for(engine, "connect")
    def hand_transactions_to_sqlalchemy(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        # A migration (see migration_lock) takes the write lock at once; a read not.
        migrating = connection.get_execution_options().get("migration", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if migrating else "BEGIN")

    return engine


def create_private_file(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (SQLite would use the umask)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


@contextlib.contextmanager
def migration_lock(connection: Connection, timeout: float) -> Iterator[None]:
    """Hold the database's migration lock around the whole run.

    PostgreSQL: a session advisory lock; MySQL and MariaDB: GET_LOCK. Both are held
    across the transaction of each revision. (SQLite's lock is its write lock; see
    with_sqlite_transactions.) Waits at most `timeout` seconds, then raises
    MigrationError.
    """
    backend = connection.dialect.name
    if backend == "sqlite":
        try:
            transaction = connection.execution_options(migration=True).begin()
        except DBAPIError as error:
            if "locked" not in str(error.orig):
                raise
            raise MigrationError(lock_busy(timeout)) from None
        with transaction:
            yield
        return
    if backend == "postgresql":
        acquired = postgresql_advisory_lock(connection, timeout)
        release = "SELECT pg_advisory_unlock(:key)"
    elif backend in ("mysql", "mariadb"):
        name = "CONCAT('alembic:', LEFT(DATABASE(), 56))"
        acquired = connection.scalar(
            text(f"SELECT GET_LOCK({name}, :timeout)"), {"timeout": timeout}
        )
        release = f"SELECT RELEASE_LOCK({name})"
    else:
        yield
        return
    connection.commit()  # end the implicit transaction; the lock outlives it
    if not acquired:
        raise MigrationError(lock_busy(timeout))
    try:
        yield
    finally:
        # A lost connection has released the lock already.
        with contextlib.suppress(DBAPIError):
            connection.rollback()
            connection.execute(text(release), {"key": POSTGRESQL_LOCK_KEY})
            connection.commit()


def checked_lock_timeout(value: object) -> float:
    """Seconds to wait for the lock: `value`, or LOCK_TIMEOUT for None.

    A negative wait would make MySQL's GET_LOCK wait forever; refused, with inf and nan.
    """
    if value is None:
        return LOCK_TIMEOUT
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        message = f"lock_timeout must be a number of seconds, 0 or more, not {value!r}"
        raise MigrationError(message)
    return seconds


def lock_busy(timeout: float) -> str:
    return (
        f"Another migration of this database has held its lock for over {timeout:g} s. "
        "Try again when it has finished, or wait longer: upgrade(lock_timeout=SECONDS), "
        "or `alembic -x lock_timeout=SECONDS upgrade head`."
    )


def postgresql_advisory_lock(connection: Connection, timeout: float) -> bool:
    """Wait for the advisory lock on the server, for at most `timeout` seconds.

    The server does the waiting (under lock_timeout, for this transaction only), so
    an event loop running the migration is never blocked by a sleep here.
    """
    milliseconds = max(1, round(timeout * 1000))  # 0 would mean "wait forever"
    connection.execute(
        text("SELECT set_config('lock_timeout', :value, true)"),
        {"value": f"{milliseconds}ms"},
    )
    try:
        connection.execute(
            text("SELECT pg_advisory_lock(:key)"), {"key": POSTGRESQL_LOCK_KEY}
        )
    except DBAPIError as error:
        # psycopg 3 and asyncpg say sqlstate, psycopg2 pgcode.
        orig = error.orig
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if code != POSTGRESQL_LOCK_NOT_AVAILABLE:
            raise
        connection.rollback()
        return False
    return True

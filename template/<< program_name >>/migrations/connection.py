"""How migrations connect: the URL checked, clear errors, and one migration at a time.

env.py uses this for the `alembic` command and for upgrade() alike:

- a bad URL, a missing driver, an unreachable server or a refused login becomes a
  MigrationError that names the variable and says what to do, never the password;
- SQLite runs its DDL inside real transactions, so a failed revision leaves nothing;
- a lock, the database's own, makes concurrent upgrades queue instead of racing.
"""

import contextlib
import os
import time
from collections.abc import Iterator
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

from ..settings import DATABASE_URL_ENV

# The distribution is named after the package (see pyproject.toml).
DISTRIBUTION = __name__.split(".")[0]
# How long to wait for another process's migration to finish, in seconds.
LOCK_TIMEOUT = 60.0
# The package, and this project's extra, that provide each driver.
DRIVERS = {
    "psycopg": ("psycopg", "postgresql"),
    "psycopg2": ("psycopg2-binary", None),
    "pymysql": ("PyMySQL", "mysql"),
    "mysqldb": ("mysqlclient", None),
}
# How drivers say "wrong user or password": MySQL's error codes, and libpq's words
# (PostgreSQL sends no SQLSTATE while the connection is being made).
LOGIN_REFUSED_CODES = {1044, 1045, 1698}
LOGIN_REFUSED_WORDS = ("password authentication failed", 'role "')
# PostgreSQL advisory locks are per database; any fixed key will do.
POSTGRESQL_LOCK_KEY = 7_239_441_846_273_615_104


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
            "Use sqlite, postgresql+psycopg or mysql+pymysql."
        ) from None
    return url


def engine_for(raw_url: str, lock_timeout: float = LOCK_TIMEOUT) -> Engine:
    """An engine for the URL, its driver checked; connect() with it."""
    url = parse_url(raw_url)
    try:
        url.get_dialect().import_dbapi()
    except ImportError as error:
        raise MigrationError(missing_driver(url, error)) from None
    if url.get_backend_name() == "sqlite":
        return sqlite_engine(url, lock_timeout)
    return create_engine(url, poolclass=pool.NullPool)


@contextlib.contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection, or a MigrationError saying why there is none."""
    try:
        connection = engine.connect()
    except DBAPIError as error:
        raise MigrationError(cannot_connect(engine.url, error)) from None
    with connection:
        yield connection


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


def cannot_connect(url: URL, error: DBAPIError) -> str:
    code = (error.orig.args or [None])[0]
    words = str(error.orig)
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
    detail = redact(str(error.orig).strip().splitlines()[0], url)
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


def sqlite_engine(url: URL, lock_timeout: float) -> Engine:
    """SQLite with transactional DDL, and its write lock taken when a transaction begins.

    Python's sqlite3 module begins transactions only before INSERT, UPDATE and
    DELETE, so DDL would run outside any. Here SQLAlchemy begins every transaction
    itself, so a failed revision rolls back completely; and a migration's with
    BEGIN IMMEDIATE, which takes the write lock at once: a second migration waits
    for the first (for at most lock_timeout) instead of interleaving with it.
    """
    create_private_file(url.database)
    engine = create_engine(
        url, poolclass=pool.NullPool, connect_args={"timeout": lock_timeout}
    )

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
    sqlite_engine.) Waits at most `timeout` seconds, then raises MigrationError.
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
        acquired = poll(connection, "SELECT pg_try_advisory_lock(:key)", timeout)
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


def lock_busy(timeout: float) -> str:
    return (
        f"Another migration of this database has held its lock for over {timeout:g} s. "
        "Try again when it has finished, or wait longer: upgrade(lock_timeout=SECONDS), "
        "or `alembic -x lock_timeout=SECONDS upgrade head`."
    )


def poll(connection: Connection, try_lock: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not connection.scalar(text(try_lock), {"key": POSTGRESQL_LOCK_KEY}):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True

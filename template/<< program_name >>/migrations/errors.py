"""What can stop a migration, in words: MigrationError and the messages it carries.

Each function below returns the MigrationError for one situation; its message says
what went wrong and what to do, names the URL variable where the URL is at fault,
and never shows a password.
"""

from urllib.parse import quote

from alembic.util import CommandError
from sqlalchemy import URL

from ..settings import DATABASE_URL_ENV, DRIVERNAMES

# The distribution is named after the package (see pyproject.toml).
DISTRIBUTION = __name__.split(".")[0]
# Driver modules whose package on PyPI has another name.
PACKAGES = {
    "psycopg2": "psycopg2-binary",
    "pymysql": "PyMySQL",
    "mysqldb": "mysqlclient",
}
# How drivers say "wrong user or password": MySQL's error codes, and libpq's words
# (PostgreSQL sends no SQLSTATE while the connection is being made).
LOGIN_REFUSED_CODES = {1044, 1045, 1698}
LOGIN_REFUSED_WORDS = ("password authentication failed", 'role "')


class MigrationError(CommandError):
    """Migrations cannot run; the message says why and what to do.

    A CommandError, so the `alembic` command prints it without a traceback.
    """


def driver_choices() -> str:
    return ", ".join(DRIVERNAMES.values())


def not_a_url_error() -> MigrationError:
    return MigrationError(
        f"{DATABASE_URL_ENV} is not a database URL. Expected "
        "dialect+driver://user:password@host:port/database, for example "
        "postgresql+psycopg://app:secret@localhost:5432/app, with special "
        "characters in the password URL-encoded."
    )


def unknown_database_error(url: URL) -> MigrationError:
    return MigrationError(
        f"{DATABASE_URL_ENV} names an unknown database, {url.drivername!r}. "
        f"Use {driver_choices()}."
    )


def wrong_kind_of_driver_error(url: URL, is_async: bool) -> MigrationError:
    given, wanted = (
        ("an asyncio", "synchronous") if is_async else ("a synchronous", "asyncio")
    )
    return MigrationError(
        f"{DATABASE_URL_ENV} names {url.drivername!r}, {given} driver, but this "
        f"project migrates with SQLAlchemy's {wanted} engine. Use {driver_choices()}."
    )


def missing_driver_error(url: URL, error: ImportError) -> MigrationError:
    backend = url.get_backend_name()
    if backend != "sqlite" and url.drivername == DRIVERNAMES.get(backend):
        # This project's driver for the database: its extra is named after it.
        install = f"pip install '{DISTRIBUTION}[{backend}]'"
    else:
        module = error.name or url.get_driver_name()
        install = f"pip install {PACKAGES.get(module, module)}"
    return MigrationError(
        f"{DATABASE_URL_ENV} needs the {url.get_driver_name()} driver, which is not "
        f"installed: {install}"
    )


def cannot_connect_error(url: URL, error: Exception) -> MigrationError:
    """What went wrong, from a driver's error (wrapped by SQLAlchemy or not)."""
    error = getattr(error, "orig", error)
    code = (error.args or [None])[0]
    words = str(error)
    if code in LOGIN_REFUSED_CODES or any(w in words for w in LOGIN_REFUSED_WORDS):
        return MigrationError(
            f"The database server refused the login of {url.username!r} given by "
            f"{DATABASE_URL_ENV}: check the user name and the password (URL-encoded)."
        )
    if url.get_backend_name() == "sqlite":
        return MigrationError(
            f"Cannot open the SQLite database {url.database!r} ({DATABASE_URL_ENV}): "
            "check that its directory exists and is writable."
        )
    detail = redact((words.strip() or type(error).__name__).splitlines()[0], url)
    return MigrationError(
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


def lock_busy_error(timeout: float) -> MigrationError:
    held = (
        "holds its lock"
        if timeout == 0
        else f"has held its lock for over {timeout:g} s"
    )
    return MigrationError(
        f"Another migration of this database {held}. Try again when it has finished, "
        "or wait longer: lock_timeout=SECONDS from Python, "
        "`alembic -x lock_timeout=SECONDS ...` on the command line."
    )


def no_database_error() -> MigrationError:
    return MigrationError(
        f"{DATABASE_URL_ENV} names no database: add its name, as in "
        "mysql+pymysql://user:password@host:3306/dbname."
    )


def lock_refused_error() -> MigrationError:
    return MigrationError(
        "The database refused the migration lock (GET_LOCK returned NULL): see its "
        "error log, then try again."
    )


def lock_file_error(path: str, error: OSError) -> MigrationError:
    return MigrationError(
        f"Cannot create the migration lock file {path!r} beside the SQLite database "
        f"({error.strerror or error}): check that its directory is writable."
    )


def bad_lock_timeout_error(value: object) -> MigrationError:
    return MigrationError(
        f"lock_timeout must be a number of seconds, 0 or more, not {value!r}"
    )


def event_loop_running_error() -> MigrationError:
    return MigrationError(
        "This would start an event loop inside the running one. In async code, "
        "await migrations.upgrade_async() or current_async(); for other commands, "
        "await asyncio.to_thread(...) them."
    )


def async_connection_handed_over_error() -> MigrationError:
    return MigrationError(
        'config.attributes["connection"] holds an AsyncConnection. Hand over the '
        "Connection that `await connection.run_sync(fn)` passes to fn instead, "
        "as in Alembic's cookbook."
    )

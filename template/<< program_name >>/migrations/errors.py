"""What can stop a migration, in words: MigrationError and the messages it carries.

Each function below returns the MigrationError for one situation; its message says
what went wrong and what to do, names the URL variable where the URL is at fault,
and never shows a password.
"""

import os
import re
from urllib.parse import quote

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
# How drivers say why a connection failed: MySQL's error codes, and libpq's words
# (PostgreSQL sends no SQLSTATE while the connection is being made).
LOGIN_REFUSED_CODES = {1044, 1045, 1698}
LOGIN_REFUSED_WORDS = ("password authentication failed", 'role "')
NO_SUCH_DATABASE_CODES = {1049}
NO_SUCH_DATABASE_WORDS = re.compile(r'database "[^"]*" does not exist')
# What the server's address led to, in words of our own: the driver's own text
# may quote what it was given, a mistyped password included.
CAUSES = {
    "it refused the connection (check that it is running, on that port)": (
        "Connection refused",
        "[Errno 111]",
    ),
    "no such host name (check its spelling)": (
        "could not translate host name",
        "Name or service not known",
        "nodename nor servname",
        "getaddrinfo failed",
        "[Errno -2]",
        "[Errno -3]",
        "[Errno -5]",
    ),
    "no answer in time (a firewall may be in the way)": (
        "timeout expired",
        "timed out",
    ),
    "no route to the host (check the host name or address)": ("No route to host",),
}
# The port a server's URL means when it names none.
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}


class MigrationError(Exception):
    """Migrations cannot run; the message says why and what to do.

    The `alembic` command prints it without a traceback (env.py hands it to
    Alembic as a CommandError). Not one itself: importing Alembic costs an
    application's start-up more than the one read that upgrade() at head needs.
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
    module = error.name or url.get_driver_name()
    if url.drivername == DRIVERNAMES.get(url.get_backend_name()):
        return missing_dependency_error(module, url.get_backend_name())
    install = f"pip install {PACKAGES.get(module.lower(), module)}"
    return MigrationError(
        f"{DATABASE_URL_ENV} needs the {url.get_driver_name()} driver, which is not "
        f"installed: {install}"
    )


def missing_dependency_error(module: str, backend: str = "sqlite") -> MigrationError:
    """Something uninstalled one of this project's own dependencies (a server's
    driver comes with the project's extra named after the server)."""
    target = DISTRIBUTION if backend == "sqlite" else f"'{DISTRIBUTION}[{backend}]'"
    return MigrationError(
        f"{module}, which this project depends on, is not installed: pip install "
        f"{target} installs it again, with the project's other dependencies."
    )


def unencoded_at_error() -> MigrationError:
    return MigrationError(
        f"The password in {DATABASE_URL_ENV} has an @ that is not URL-encoded, so "
        "part of it reads as the host: write each @ in the password as %40 (and "
        "encode any other special character, as urllib.parse.quote(password, "
        "safe='') does)."
    )


def password_given_twice_error() -> MigrationError:
    return MigrationError(
        f"{DATABASE_URL_ENV} gives more than one password: keep the one in "
        "user:password@host, URL-encoded, and remove password= from the query."
    )


def unknown_option_error(url: URL, error: Exception) -> MigrationError:
    """A query option the driver does not take; its name, never its value."""
    named = re.search(r"""(?:argument|option) ['"]?(\w+)""", str(error))
    option = named.group(1) if named else ", ".join(url.query)
    return MigrationError(
        f"{DATABASE_URL_ENV} has a query option that the {url.get_driver_name()} "
        f"driver does not take: {option}. Remove it from the URL, or see the "
        "driver's documentation for the options it does take."
    )


def cannot_connect_error(url: URL, error: Exception) -> MigrationError:
    """Why there is no connection, from a driver's error (wrapped by SQLAlchemy or
    not), told from what was parsed: the driver's text is shown only when it
    cannot hold the password."""
    error = getattr(error, "orig", error)
    code = (error.args or [None])[0]
    words = str(error)
    if "invalid connection option" in words:
        return unknown_option_error(url, error)
    if code in LOGIN_REFUSED_CODES or any(w in words for w in LOGIN_REFUSED_WORDS):
        return MigrationError(
            f"The database server refused the login of {url.username!r} given by "
            f"{DATABASE_URL_ENV}: check the user name and the password (URL-encoded)."
        )
    if url.get_backend_name() == "sqlite":
        return MigrationError(
            f"Cannot open the SQLite database {url.database!r} {given_by(url)}: "
            "check that its directory exists and is writable."
        )
    port = url.port or DEFAULT_PORTS.get(url.get_backend_name(), "default port")
    server = f"{url.host or 'localhost'}:{port}"
    if code in NO_SUCH_DATABASE_CODES or NO_SUCH_DATABASE_WORDS.search(words):
        return MigrationError(
            f"The database server {server} has no database {url.database!r}, the "
            f"one {DATABASE_URL_ENV} names: create it, or correct the name."
        )
    cause = next(
        (cause for cause, signs in CAUSES.items() if any(s in words for s in signs)),
        None,
    )
    if cause is None:
        first_line = (words.strip().splitlines() or [""])[0]
        shown = first_line if first_line and not holds_password(first_line, url) else ""
        cause = f"{type(error).__name__}{': ' if shown else ''}{shown}"
    return MigrationError(
        f"Cannot reach the database server {server} given by {DATABASE_URL_ENV}: "
        f"{cause}."
    )


def holds_password(text: str, url: URL) -> bool:
    """True if the text might show the URL's password, plain or URL-encoded."""
    password = url.password
    return bool(password) and any(
        secret in text for secret in {password, quote(password, safe="")}
    )


def given_by(url: URL) -> str:
    """Where the URL came from, as a message says it."""
    if os.environ.get(DATABASE_URL_ENV, "").strip():
        return f"given by {DATABASE_URL_ENV}"
    return f"(the default database; set {DATABASE_URL_ENV} to use another)"


def sqlite_busy_error(url: URL, timeout: float) -> MigrationError:
    return MigrationError(
        f"The SQLite database {url.database!r} stayed locked for {timeout:g} s: "
        "another connection holds a transaction open on it (a reader's too, unless "
        "the database is in WAL mode). The revision was rolled back; close that "
        "transaction and try again, or wait longer with ?timeout=SECONDS in the URL."
    )


def data_dir_error(directory: object, error: OSError) -> MigrationError:
    return MigrationError(
        f"Cannot create the default database in {directory} "
        f"({error.strerror or error}): make room for it, or make it writable; or "
        f"set XDG_DATA_HOME to move it, or {DATABASE_URL_ENV} to use another database."
    )


def lock_busy_error(timeout: float) -> MigrationError:
    held = (
        "holds its lock"
        if timeout == 0
        else f"has held its lock for over {timeout:g} s"
    )
    return MigrationError(
        f"Another migration of this database {held}. Try again when it has finished, "
        "or wait longer: migration_lock_timeout=SECONDS from Python, "
        "`alembic -x migration_lock_timeout=SECONDS ...` on the command line."
    )


def no_database_error() -> MigrationError:
    return MigrationError(
        f"{DATABASE_URL_ENV} names no database: add its name, as in "
        f"{DRIVERNAMES['mysql']}://user:password@host:3306/dbname."
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


def bad_timeout_error(name: str, value: object, longest: float) -> MigrationError:
    shown = repr(value)
    if len(shown) > 24:  # 10**400 has 401 digits
        shown = f"{shown[:20]}..."
    return MigrationError(
        f"{name} must be a number of seconds from 0 to {int(longest)}, not {shown}"
    )


# Where to see who holds a table's lock, on each server.
LOCK_HOLDERS = {
    "postgresql": (
        "SELECT pid, state, xact_start, query FROM pg_stat_activity WHERE pid = "
        "ANY(pg_blocking_pids(<migration's pid>)), or pg_locks joined to "
        "pg_stat_activity; end one with SELECT pg_terminate_backend(pid)"
    ),
    "mysql": (
        "SHOW PROCESSLIST, or on MariaDB SELECT * FROM "
        "information_schema.metadata_lock_info; end one with KILL <id>"
    ),
}


def table_lock_error(
    revision: str,
    backend: str,
    timeout: float,
    tries: int,
    elapsed: float,
    *,
    retried: bool,
) -> MigrationError:
    if retried:
        tried = "once" if tries == 1 else f"{tries} times"
        how = f"within {timeout:g} s, tried {tried} over {elapsed:.0f} s"
    else:  # MySQL commits DDL as it goes; an autocommit_block() committed too
        how = f"within {timeout:g} s, and trying again could repeat what it committed"
    holders = LOCK_HOLDERS.get("mysql" if backend == "mariadb" else backend, "")
    if backend == "postgresql" and not retried:
        how += (
            " (an index built CONCURRENTLY is left invalid: drop it before you "
            "retry, and give its revision set_for_this_revision(table_lock=0))"
        )
    return MigrationError(
        f"{revision} could not lock a table {how}. Another transaction holds a "
        "lock on it: usually a long query or report, a backup, or a session left "
        f"idle in a transaction. Find it ({holders}), then upgrade again; the "
        "database is at the revision before it. More time: "
        "table_lock_timeout=SECONDS, retry_for=SECONDS."
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

"""How long a migration waits, so that a live application never waits long for it.

An ALTER TABLE waits for an exclusive lock on its table, and while it waits every
new query on that table queues behind it: one long transaction (a report, a
backup, a session idle in a transaction) would turn a one-second migration into
an outage. So every statement of a migration waits at most ``table_lock`` seconds
for a table lock (PostgreSQL's lock_timeout; MySQL's lock_wait_timeout and
innodb_lock_wait_timeout), and a revision that could not have its lock is tried
again, with pauses, for at most ``retry_for`` seconds, where that is safe: on
PostgreSQL, where the revision rolled back completely. MySQL commits DDL as it
goes, so there it fails at once. SQLite's only lock is its write lock, which its
busy timeout already waits for.

Four timeouts, each in seconds:

- migration_lock: for another process's migration to finish (lock.py);
- table_lock: each statement, for a lock on a table the application uses
  (0: no limit);
- statement: each statement, to run (0: no limit; not set: the server's own
  limit, if any), on PostgreSQL and MariaDB;
- retry_for: trying again a revision that could not lock a table.

From the command line, ``alembic -x table_lock_timeout=10 upgrade head``; from
Python, ``upgrade(table_lock_timeout=10)``; in a revision that needs longer,
``set_for_this_revision(table_lock=60)`` as its first line.
"""

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from .errors import bad_timeout_error, table_lock_error
from .lock import pauses_until

T = TypeVar("T")
log = logging.getLogger(__name__)

# PostgreSQL keeps its timeouts in milliseconds, in a 32-bit integer.
LONGEST = 2_147_483_647 / 1000
# MySQL's longest lock_wait_timeout, one year: "no limit".
MYSQL_NO_LIMIT = 31_536_000
# Set in connection.info when a revision leaves its transaction
# (autocommit_block()): what it did then stays, so it is not tried again.
LEFT_TRANSACTION = "migration_left_its_transaction"
# How drivers say "a lock wait was cut short": PostgreSQL's SQLSTATE
# lock_not_available, MySQL's ER_LOCK_WAIT_TIMEOUT.
LOCK_NOT_AVAILABLE = "55P03"
LOCK_WAIT_TIMEOUT = 1205


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """The timeouts of one run, in seconds (see the module's docstring)."""

    migration_lock: float = 60.0
    table_lock: float = 5.0
    statement: float | None = None
    retry_for: float = 60.0

    @classmethod
    def given(cls, options: Mapping[str, object]) -> "Timeouts":
        """The timeouts `options` give, by their names in the `alembic -x` options
        and upgrade()'s keywords (``*_timeout``, ``retry_for``), checked; the
        defaults for those not given (None)."""
        options = dict(options)
        if options.get("lock_timeout") is not None:  # its name until this release
            warnings.warn(
                "lock_timeout is now migration_lock_timeout: the seconds to wait for "
                "another migration (table_lock_timeout is for a table's lock)",
                FutureWarning,  # shown by default, on the command line too
                stacklevel=4,
            )
            options.setdefault("migration_lock_timeout", options["lock_timeout"])
        values = {}
        for field in dataclasses.fields(cls):
            name = field.name if field.name == "retry_for" else f"{field.name}_timeout"
            value = options.get(name)
            if value is not None:
                values[field.name] = checked_seconds(name, value)
        return cls(**values)


def checked_seconds(name: str, value: object) -> float:
    """`value` as a number of seconds, from 0 to LONGEST, or a MigrationError."""
    if isinstance(value, bool):  # a number, to Python; no number of seconds to us
        raise bad_timeout_error(name, value, LONGEST)
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: 10**400
        seconds = -1.0
    if not 0 <= seconds <= LONGEST:  # nan and inf too
        raise bad_timeout_error(name, value, LONGEST)
    return seconds


def session_settings(
    dialect: Dialect, table_lock: float | None, statement: float | None
) -> list[str]:
    """The statements that set a session's timeouts; None leaves one as it is."""
    settings = []
    if dialect.name == "postgresql":
        if table_lock is not None:
            settings.append(f"SET lock_timeout = {round(table_lock * 1000)}")
        if statement is not None:
            settings.append(f"SET statement_timeout = {round(statement * 1000)}")
    elif dialect.name in ("mysql", "mariadb"):
        if table_lock is not None:  # whole seconds, at least one
            seconds = math.ceil(table_lock) if table_lock else MYSQL_NO_LIMIT
            settings.append(f"SET SESSION lock_wait_timeout = {seconds}")
            settings.append(f"SET SESSION innodb_lock_wait_timeout = {seconds}")
        if statement is not None and getattr(dialect, "is_mariadb", False):
            settings.append(f"SET SESSION max_statement_time = {statement:g}")
        elif statement is not None:
            log.warning("statement_timeout needs MariaDB or PostgreSQL: not set")
    return settings


@contextlib.contextmanager
def session_timeouts(connection: Connection, settings: list[str]) -> Iterator[None]:
    """The session's timeouts set, then back to the server's defaults: the
    connection may be the caller's, and go on serving it."""
    for sql in settings:
        connection.exec_driver_sql(sql)
    connection.commit()  # Alembic begins its own transactions
    try:
        yield
    finally:
        if settings and not connection.invalidated:
            with contextlib.suppress(DBAPIError):
                connection.rollback()
                for sql in settings:
                    connection.exec_driver_sql(f"{sql.rsplit('=', 1)[0]}= DEFAULT")
                connection.commit()


def set_for_this_revision(
    *, table_lock: float | None = None, statement: float | None = None
) -> None:
    """In a revision: its own timeouts, in seconds, until it ends (0: no limit).

        from <package>.migrations.timeouts import set_for_this_revision

        def upgrade():
            set_for_this_revision(table_lock=30, statement=0)
            ...

    Online and in offline SQL alike; the run's own come back after it.
    """
    from alembic import op

    checked = {
        name: value if value is None else checked_seconds(f"{name}_timeout", value)
        for name, value in (("table_lock", table_lock), ("statement", statement))
    }
    dialect = op.get_context().dialect
    for statement_sql in session_settings(dialect, **checked):
        op.execute(statement_sql)


def is_table_lock_timeout(error: DBAPIError) -> bool:
    orig = error.orig
    if getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
        return True
    return bool(orig.args) and orig.args[0] == LOCK_WAIT_TIMEOUT


@contextlib.contextmanager
def noting_autocommit(connection: Connection, migration_context) -> Iterator[None]:
    """Note in connection.info when a revision leaves its transaction."""
    leave = migration_context.autocommit_block

    @contextlib.contextmanager
    def autocommit_block() -> Iterator[None]:
        connection.info[LEFT_TRANSACTION] = True
        with leave():
            yield

    migration_context.autocommit_block = autocommit_block
    try:
        yield
    finally:
        migration_context.autocommit_block = leave


def retrying_table_locks(
    connection: Connection,
    run: Callable[[], T],
    timeouts: Timeouts,
    failing_revision: Callable[[], str],
) -> T:
    """run(), and again while a revision could not lock a table and trying again
    is safe, for at most timeouts.retry_for seconds: short pauses at first, then
    up to 10 s, with no lock held and the application running meanwhile."""
    started = time.monotonic()
    waits = pauses_until(started + timeouts.retry_for, first=0.5, longest=10.0)
    tries = 0
    while True:
        connection.info.pop(LEFT_TRANSACTION, None)
        try:
            return run()
        except DBAPIError as error:
            if not is_table_lock_timeout(error):
                raise
            tries += 1
            revision = failing_revision()
            retry_is_safe = connection.dialect.name == "postgresql" and not (
                connection.info.get(LEFT_TRANSACTION)
            )
            pause = next(waits, None) if retry_is_safe else None
            if pause is None:
                raise table_lock_error(
                    revision,
                    connection.dialect.name,
                    timeouts.table_lock,
                    tries,
                    time.monotonic() - started,
                    retried=retry_is_safe,
                ) from None
            log.warning(
                "%s could not lock a table within %g s; trying again in %.1f s",
                revision,
                timeouts.table_lock,
                pause,
            )
            sleep(connection, pause)


def sleep(connection: Connection, seconds: float) -> None:
    """Pause; on an asyncio engine's connection (run_sync()), with the event loop
    running other tasks meanwhile."""
    if connection.dialect.is_async:
        from sqlalchemy.util import await_only

        await_only(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)

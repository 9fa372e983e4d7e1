"""The template's runtime: how long a migration waits, so that a live application
never waits long for it.

An ALTER TABLE waits for its table's lock, and every new query on the table queues
behind it. So each statement of a migration waits at most table_lock_timeout for a
table's lock (PostgreSQL's lock_timeout; MySQL's lock_wait_timeout), and a revision
cut short is tried again, for at most retry_for, where that is safe (environment.py).
The four timeouts, in seconds, are the `alembic -x NAME=SECONDS` options and the
keywords of upgrade() and downgrade(): migration_lock_timeout (for another
process's migration), table_lock_timeout (0: no limit), statement_timeout (0: no
limit; not given: the server's) and retry_for. A revision that needs others calls
set_for_this_revision() first.
"""

import contextlib
import dataclasses
import difflib
import logging
import math
import warnings
from collections.abc import Iterator, Mapping
from typing import TypedDict

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from .errors import MigrationError

log = logging.getLogger(__name__)

# PostgreSQL keeps its timeouts in milliseconds, in a 32-bit integer.
LONGEST = 2_147_483_647 / 1000
# MySQL's longest lock_wait_timeout, one year: "no limit".
MYSQL_NO_LIMIT = 31_536_000
# How drivers say "a lock wait was cut short": PostgreSQL's SQLSTATE
# lock_not_available, MySQL's ER_LOCK_WAIT_TIMEOUT.
LOCK_NOT_AVAILABLE = "55P03"
LOCK_WAIT_TIMEOUT = 1205


class TimeoutOptions(TypedDict, total=False):
    """The keywords of upgrade(), upgrade_async() and downgrade()."""

    migration_lock_timeout: float
    table_lock_timeout: float
    statement_timeout: float | None
    retry_for: float
    lock_timeout: float  # migration_lock_timeout's name until 0.2


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """The timeouts of one migration, in seconds (see the module's docstring)."""

    migration_lock: float = 60.0
    table_lock: float = 5.0
    statement: float | None = None
    retry_for: float = 60.0

    @classmethod
    def given(cls, options: Mapping[str, object]) -> "Timeouts":
        """The timeouts `options` give by name (the `-x` options, which may hold
        others of the user's, or upgrade()'s keywords), checked; the defaults for
        those not given."""
        options = dict(options)
        if options.get("lock_timeout") is not None:
            warnings.warn(
                "lock_timeout is now migration_lock_timeout: the seconds to wait for "
                "another migration (table_lock_timeout is for a table's lock)",
                FutureWarning,  # shown by default, on the command line too
                stacklevel=5,
            )
            options.setdefault("migration_lock_timeout", options["lock_timeout"])
        values = {}
        for field in dataclasses.fields(cls):
            name = field.name if field.name == "retry_for" else f"{field.name}_timeout"
            if options.get(name) is not None:
                values[field.name] = checked_seconds(name, options[name])
        return cls(**values)

    @classmethod
    def from_keywords(cls, function: str, keywords: Mapping[str, object]) -> "Timeouts":
        """The timeouts given as keywords to `function`, whose every keyword is one."""
        names = TimeoutOptions.__optional_keys__
        for name in keywords:
            if name not in names:
                raise TypeError(
                    f"{function}() got an unexpected keyword argument {name!r}; its "
                    f"timeouts are {', '.join(sorted(names - {'lock_timeout'}))}"
                )
        return cls.given(keywords)


def check_x_options(options: Mapping[str, object]) -> None:
    """Refuse an `-x` option that is nearly one of the timeouts: misspelt, it would
    be ignored. Others are the user's own, for env.py."""
    known = TimeoutOptions.__optional_keys__
    current = sorted(known - {"lock_timeout"})  # lock_timeout: the name until 0.2
    for name in set(options) - known:
        near = difflib.get_close_matches(name, current, n=1, cutoff=0.8)
        if near or name.endswith("_timeout"):
            meant = f"did you mean {near[0]}? " if near else ""
            raise MigrationError(
                f"-x {name}: no such option; {meant}The timeouts are "
                f"{', '.join(current)}."
            )


def checked_seconds(name: str, value: object) -> float:
    """`value` as a number of seconds, from 0 to LONGEST, or a MigrationError."""
    seconds = -1.0
    if not isinstance(value, bool):  # a number, to Python; no number of seconds to us
        with contextlib.suppress(ValueError, OverflowError):  # OverflowError: 10**400
            seconds = float(str(value))
    if not 0 <= seconds <= LONGEST:  # nan and inf too
        shown = repr(value) if len(repr(value)) <= 24 else f"{repr(value)[:20]}..."
        raise MigrationError(
            f"{name} must be a number of seconds from 0 to {int(LONGEST)}, not {shown}"
        )
    return seconds


def milliseconds(seconds: float) -> int:
    """PostgreSQL's unit: rounded, but never down to 0, which means no limit."""
    return max(1, round(seconds * 1000)) if seconds else 0


def timeout_statements(
    dialect: Dialect, table_lock: float | None, statement: float | None
) -> list[str]:
    """The statements that set a session's timeouts; None leaves one as it is."""
    timeout_sql = []
    if dialect.name == "postgresql":
        if table_lock is not None:
            timeout_sql.append(f"SET lock_timeout = {milliseconds(table_lock)}")
        if statement is not None:
            timeout_sql.append(f"SET statement_timeout = {milliseconds(statement)}")
    elif dialect.name in ("mysql", "mariadb"):
        if table_lock is not None:  # whole seconds, at least one
            seconds = math.ceil(table_lock) if table_lock else MYSQL_NO_LIMIT
            timeout_sql.append(f"SET SESSION lock_wait_timeout = {seconds}")
            timeout_sql.append(f"SET SESSION innodb_lock_wait_timeout = {seconds}")
        if statement is not None and getattr(dialect, "is_mariadb", False):
            timeout_sql.append(f"SET SESSION max_statement_time = {statement:g}")
        elif statement is not None:
            log.warning("statement_timeout needs MariaDB or PostgreSQL: not set")
    return timeout_sql


@contextlib.contextmanager
def session_timeouts(connection: Connection, timeout_sql: list[str]) -> Iterator[None]:
    """The session's timeouts set, then back to the server's defaults: the
    connection may be the caller's, and go on serving it."""
    for sql in timeout_sql:
        connection.exec_driver_sql(sql)
    connection.commit()  # Alembic begins its own transactions
    try:
        yield
    finally:
        if timeout_sql and not connection.invalidated:
            with contextlib.suppress(DBAPIError):
                connection.rollback()
                for sql in timeout_sql:
                    connection.exec_driver_sql(f"{sql.rsplit('=', 1)[0]}= DEFAULT")
                connection.commit()


def set_for_this_revision(
    *, table_lock: float | None = None, statement: float | None = None
) -> None:
    """In a revision: its own timeouts, in seconds, until it ends (0: no limit).

        from <package>.migrations import set_for_this_revision

        def upgrade() -> None:
            set_for_this_revision(table_lock=30, statement=0)
            ...

    Online and in offline SQL alike; the run's own come back after it.
    """
    from alembic import op

    checked = {
        name: None if value is None else checked_seconds(f"{name}_timeout", value)
        for name, value in (("table_lock", table_lock), ("statement", statement))
    }
    for sql in timeout_statements(op.get_context().dialect, **checked):
        op.execute(sql)


def is_table_lock_timeout(error: DBAPIError) -> bool:
    """The driver's code for a lock wait cut short."""
    orig = error.orig
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
        return True
    return bool(orig.args) and orig.args[0] == LOCK_WAIT_TIMEOUT

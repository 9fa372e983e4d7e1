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

On PostgreSQL each transaction sets them for itself (SET LOCAL): none outlives it
on a server connection that a pooler hands to other clients.
"""

import contextlib
import contextvars
import dataclasses
import difflib
import logging
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypedDict

from sqlalchemy import Connection, event, text
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
def in_force(
    connection: Connection, timeouts: Timeouts
) -> Iterator[Callable[..., None]]:
    """The run's timeouts on `connection` while it migrates. Yields what Alembic is
    to call after each revision (on_version_apply): the run's timeouts again after
    a revision's own."""
    if connection.dialect.name == "postgresql":
        with PostgreSQLTimeouts(connection, timeouts).in_force() as after_each:
            yield after_each
        return
    timeout_sql = timeout_statements(
        connection.dialect, timeouts.table_lock, timeouts.statement
    )
    with session_timeouts(connection, timeout_sql):
        yield setting_again(timeout_sql)


def setting_again(timeout_sql: list[str]) -> Callable[..., None]:
    """After each revision, the run's timeouts again: a revision may set its own."""

    def set_again(ctx: Any, *_: Any, **__: Any) -> None:
        for sql in timeout_sql:
            ctx.execute(sql)

    return set_again


class PostgreSQLTimeouts:
    """Timeouts that each transaction sets for itself (SET LOCAL), as it begins.

    Statements outside a transaction (autocommit_block()) have them for the session
    if the session is the migration's own; behind a pooler, which would keep them
    on a server connection for its next client, they have the role's, and a
    warning says so."""

    def __init__(self, connection: Connection, timeouts: Timeouts) -> None:
        self.connection = connection
        self.run = in_milliseconds(
            {"table_lock": timeouts.table_lock, "statement": timeouts.statement}
        )
        self.own: dict[str, int] = {}  # the running revision's
        self.set_for_the_session: set[str] = set()
        self.session_of_its_own = False  # until asked: no pooler in between
        self.warned = False

    @contextlib.contextmanager
    def in_force(self) -> Iterator[Callable[..., None]]:
        self.session_of_its_own = is_session_of_its_own(self.connection)
        event.listen(self.connection, "begin", self.set)
        token = IN_FORCE.set(self)
        try:
            yield self.after_each_revision
        finally:
            IN_FORCE.reset(token)
            event.remove(self.connection, "begin", self.set)
            self.back_to_the_defaults()

    def set(self, connection: Connection) -> None:
        """In the transaction `connection` begins, or outside any."""
        values = {**self.run, **self.own}
        if not values:
            return
        local = (
            connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT"
        )
        if not local and not self.session_of_its_own:
            if not self.warned:
                log.warning(
                    "A revision left its transaction (autocommit_block()) behind a "
                    "connection pooler (or through a driver that cannot tell): its "
                    "statements there run with the role's own timeouts, as a "
                    "setting would stay on a pooled server connection. Migrate "
                    "straight to the server to give them the migration's."
                )
                self.warned = True
            return
        if not local:
            self.set_for_the_session.update(values)
        configs = ", ".join(
            f"set_config('{name}', '{value}', {str(local).lower()})"
            for name, value in values.items()
        )
        connection.exec_driver_sql(f"SELECT {configs}")

    def set_own(self, connection: Connection, values: dict[str, float | None]) -> None:
        """A revision's own timeouts, until it ends (set_for_this_revision())."""
        self.own.update(in_milliseconds(values))
        self.set(connection)

    def after_each_revision(self, *_: Any, **__: Any) -> None:
        """In its transaction: the next revision begins with the run's timeouts."""
        self.own.clear()
        self.reset_the_session()

    def reset_the_session(self) -> None:
        """What autocommit_block() set for the session, back to the defaults."""
        for name in sorted(self.set_for_the_session):
            self.connection.exec_driver_sql(f"SET {name} = DEFAULT")
        self.set_for_the_session.clear()

    def back_to_the_defaults(self) -> None:
        if self.set_for_the_session and not self.connection.invalidated:
            with contextlib.suppress(DBAPIError):
                self.connection.rollback()
                self.reset_the_session()
                self.connection.commit()


def in_milliseconds(seconds: Mapping[str, float | None]) -> dict[str, int]:
    """{"table_lock": 5.0, "statement": None} as PostgreSQL's settings, those given."""
    names = {"table_lock": "lock_timeout", "statement": "statement_timeout"}
    return {
        names[name]: milliseconds(value)
        for name, value in seconds.items()
        if value is not None
    }


# The running PostgreSQL migration's timeouts, for set_for_this_revision().
IN_FORCE: contextvars.ContextVar[PostgreSQLTimeouts | None] = contextvars.ContextVar(
    "timeouts_in_force", default=None
)


def is_session_of_its_own(connection: Connection) -> bool:
    """Whether the server process that answers is the one the driver connected to
    (psycopg's and psycopg2's backend_pid, asyncpg's server pid): behind a pooler
    it is not, and the next transaction may be another's."""
    driver: Any = connection.connection.driver_connection
    connected_to = getattr(getattr(driver, "info", None), "backend_pid", None)
    if connected_to is None and hasattr(driver, "get_server_pid"):
        connected_to = driver.get_server_pid()
    answering = connection.scalar(text("SELECT pg_backend_pid()"))
    connection.commit()
    return bool(answering == connected_to)


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
    if running := IN_FORCE.get():  # online, on PostgreSQL
        running.set_own(op.get_bind(), checked)
        return
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

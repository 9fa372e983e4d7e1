"""The template's runtime: the one path from env.py to the database.

env.py calls run_migrations() once. Every `alembic` command comes through it, and
so does the Python API, which runs Alembic's commands:

- offline (`--sql`): the SQL is printed, the timeouts set first;
- online, on a connection to the configured database or one handed over in
  config.attributes["connection"]: inside a transaction the caller opened, the
  revisions run in it, as they are; otherwise a command that only reads runs in
  autocommit mode, and one that writes takes the migration lock (lock.py; before
  its connection, where it makes one), sets its timeouts (timeouts.py), compares
  the database's record of the revisions it ran with the history (applied.py),
  runs each revision in a transaction of its own, and tries again a revision that
  could not lock a table, where that is safe.

A MigrationError reaches the `alembic` command as one line, and Python as itself.
"""

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from alembic import context
from alembic.util import CommandError, to_tuple
from sqlalchemy import Connection, Engine, MetaData
from sqlalchemy.exc import DBAPIError

from .applied import Record, accept, create_offline, listing, table_for
from .autogenerate import process_revision_directives, with_postgresql_enums
from .database import (
    engine_for,
    missing_constraint,
    never_prepared,
    on_connection,
    parse_url,
    refusal,
    refuse_a_blank_variable,
    room_for_two,
)
from .errors import MigrationError
from .lock import migration_lock, pauses_until, sleep, still_held
from .timeouts import (
    Timeouts,
    check_x_options,
    in_force,
    is_table_lock_timeout,
    setting_again,
    timeout_statements,
)

log = logging.getLogger(__name__)

# The commands that only read: no lock, no transaction. The others, and any
# command run from Python without a name, take the lock. "applied" and "accept"
# are the runtime's own (`python -m <package>.migrations.history applied`).
READING = ("current", "check", "revision", "history", "applied")
# What takes the migration lock of an engine's database, for as long as it lasts.
Locking = Callable[[Engine], contextlib.AbstractContextManager[None]]
# The commands that compare the models with the database, or whose revisions name
# constraints by the models' naming convention; the others start faster without.
NEEDING_MODELS = (None, "revision", "check", "upgrade", "downgrade")


def run_migrations(
    *,
    url: str,
    target_metadata: MetaData | Callable[[], MetaData] | None,
    **options: Any,
) -> None:
    """Run the command Alembic is running, on the database at `url` (or the
    connection handed over). `target_metadata` may be a function, called only by
    the commands that need the models; `options` go to context.configure(), and
    override the runtime's own (process_revision_directives)."""
    config = context.config
    command = (
        config.cmd_opts.cmd[0].__name__
        if config.cmd_opts
        else config.attributes.get("command")
    )
    if callable(target_metadata):
        target_metadata = target_metadata() if command in NEEDING_MODELS else None
    options = {
        "target_metadata": target_metadata,
        "process_revision_directives": process_revision_directives,
        **options,
    }
    options["include_name"] = leaving_out_the_record(options)
    try:
        refuse_a_blank_variable()
        if parse_url(url).get_backend_name() == "postgresql":
            with_postgresql_enums()
        x_options = context.get_x_argument(as_dictionary=True)
        check_x_options(x_options)
        timeouts = config.attributes.get("timeouts") or Timeouts.given(x_options)
        if context.is_offline_mode():
            print_sql(url, timeouts, options)
        else:
            migrate_online(url, timeouts, options, command)
    except MigrationError as error:
        if not config.cmd_opts:  # from Python: the caller's to catch, as it is
            raise
        raise CommandError(str(error)) from None  # printed as one line


def leaving_out_the_record(options: dict[str, Any]) -> Callable[..., bool]:
    """The user's include_name, if any, and never the record's table: autogenerate
    and `alembic check` leave it alone, as they do alembic_version."""
    record = table_for(options.get("version_table", "alembic_version")).name
    theirs = options.get("include_name")

    def include_name(name: str | None, type_: str, parents: Any) -> bool:
        if type_ == "table" and name == record:
            return False
        return theirs(name, type_, parents) if theirs else True

    return include_name


def calling(options: dict[str, Any], *callbacks: Callable[..., None]) -> dict[str, Any]:
    """context.configure()'s options, with Alembic calling `callbacks` after each
    revision, then the user's own on_version_apply."""
    theirs = to_tuple(options.get("on_version_apply"), default=())
    return {**options, "on_version_apply": (*callbacks, *theirs)}


def print_sql(url: str, timeouts: Timeouts, options: dict[str, Any]) -> None:
    """`alembic upgrade head --sql`: the URL names only the dialect."""
    parsed = parse_url(url)
    dialect = parsed.get_dialect()()
    timeout_sql = timeout_statements(dialect, timeouts.table_lock, timeouts.statement)
    context.configure(
        url=parsed,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **calling(options, setting_again(timeout_sql), Record()),
    )
    with context.begin_transaction():
        for sql in timeout_sql:
            context.execute(sql)
        create_offline(context.get_context())
        context.run_migrations()


def migrate_online(
    url: str, timeouts: Timeouts, options: dict[str, Any], command: str | None
) -> None:
    """On the configured database, or on what a caller handed over:

    - a Connection (Alembic's cookbook; run_sync() of an AsyncConnection passes
      one; so does the Python API) is used as it is;
    - an Engine or an AsyncEngine (pytest-alembic's alembic_engine) is connected to;
    - any other object whose connect() yields a Connection (pytest-alembic's
      experimental checks pass one, in their transaction) is connected to;
    - an AsyncConnection is refused: it belongs to its event loop.
    """
    handed_over = context.config.attributes.get("connection")

    def taking_the_lock(engine: Engine) -> contextlib.AbstractContextManager[None]:
        table = options.get("version_table", "alembic_version")
        schema = options.get("version_table_schema")
        return migration_lock(engine, timeouts.migration_lock, table, schema)

    def migrate(connection: Connection, lock: Locking | None = taking_the_lock) -> None:
        migrate_on(connection, timeouts, options, command, lock)

    if (
        handed_over is None
        or isinstance(handed_over, Engine)
        or is_async_engine(handed_over)
    ):
        engine = handed_over or engine_for(url)
        if command in READING:
            engine = engine.execution_options(isolation_level="AUTOCOMMIT")
            on_connection(engine, migrate)
        else:  # the lock first: a replica that waits for it holds no connection
            on_connection(engine, migrate, None, first=taking_the_lock)
    elif isinstance(handed_over, Connection):
        with room_for_two(handed_over.engine):
            migrate(handed_over)
    elif hasattr(handed_over, "run_sync"):
        raise MigrationError(
            'config.attributes["connection"] holds an AsyncConnection. Hand over the '
            "Connection that `await connection.run_sync(fn)` passes to fn instead, as "
            "in Alembic's cookbook."
        )
    else:
        with handed_over.connect() as connection:
            migrate(connection)


def is_async_engine(candidate: object) -> bool:
    """An AsyncEngine (an AsyncConnection has a sync_engine too, and run_sync)."""
    return hasattr(candidate, "sync_engine") and not hasattr(candidate, "run_sync")


def migrate_on(
    connection: Connection,
    timeouts: Timeouts,
    options: dict[str, Any],
    command: str | None,
    lock: Locking | None,
) -> None:
    """The command on `connection`: one that reads, with no lock and no transaction
    of its own; one that writes, with the record of applied revisions, in the
    caller's transaction as it is, otherwise under the lock (taken with `lock`;
    None: held already) and the timeouts, a transaction per revision."""
    if command in READING:
        context.configure(connection=connection, **options)
        if command == "applied":
            print(listing(context.get_context(), context.script))
            return
        with context.begin_transaction():
            context.run_migrations()
        return
    record = Record()
    if connection.in_transaction():  # the caller's
        context.configure(connection=connection, **calling(options, record))
        # What an autocommit_block() holds runs in the caller's transaction too:
        # PostgreSQL refuses what cannot run in one (CREATE INDEX CONCURRENTLY);
        # MySQL commits the transaction at its first DDL anyway.
        context.get_context().autocommit_block = in_the_callers_transaction  # type: ignore[method-assign]
        with context.begin_transaction():
            record.reconcile(context.get_context(), context.script, command)
            context.run_migrations()
        return
    with (
        lock(connection.engine) if lock else contextlib.nullcontext(),
        never_prepared(connection),
        in_force(connection, timeouts) as after_each_revision,
    ):
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            **calling(options, still_held, after_each_revision, record),
        )
        if command == "accept":
            accepted = context.config.attributes["accept"]
            for name in accept(context.get_context(), context.script, accepted):
                print(f"{name}: accepted as it is now.")
            return
        run_revisions(connection, timeouts, command, record)


def run_revisions(
    connection: Connection,
    timeouts: Timeouts,
    command: str | None,
    record: Record,
) -> None:
    """Run the revisions; while one could not lock a table and trying again is safe
    (PostgreSQL rolled it back completely, and it never left its transaction), try
    again, for at most timeouts.retry_for seconds: short pauses at first, then up to
    10 s, with no lock on a table held and the application running meanwhile."""
    left_transaction = noting_autocommit_blocks()
    started = time.monotonic()
    waits = pauses_until(started + timeouts.retry_for, first=0.5, longest=10.0)
    tries = 0
    while True:
        left_transaction.clear()
        try:
            with context.begin_transaction():
                record.reconcile(context.get_context(), context.script, command)
                context.run_migrations()
            return
        except DBAPIError as error:
            if words := refusal(error, connection.engine.url):
                if connection.in_transaction():  # PostgreSQL's, aborted: to ask again
                    connection.rollback()
                raise MigrationError(
                    f"{name_of_the_revision_being_run(command)} was refused: {words}. "
                    "The role in the URL may not do what it needs, or the database "
                    "is read-only: grant the privilege, or migrate with a role that "
                    "has it."
                ) from None
            if (name := missing_constraint(error)) and has_a_naming_convention():
                if connection.in_transaction():
                    connection.rollback()
                raise MigrationError(
                    f"{name_of_the_revision_being_run(command)} names {name!r}, which "
                    "the database does not have. If that revision was written without "
                    "a naming convention, the one in models.py gave the constraint "
                    "another name when an earlier revision created it: a history "
                    "written without a convention needs none (docs/migrations.md, "
                    '"Bringing your own history").'
                ) from None
            if not is_table_lock_timeout(error):
                raise
        tries += 1
        retry_is_safe = connection.dialect.name == "postgresql" and not left_transaction
        pause = next(waits, None) if retry_is_safe else None
        revision = name_of_the_revision_being_run(command)
        if pause is None:
            if retry_is_safe:
                tried = "once" if tries == 1 else f"{tries} times"
                how = f"tried {tried} over {time.monotonic() - started:.0f} s"
            else:  # MySQL commits DDL as it goes; an autocommit_block() committed too
                how = "and trying again could repeat what it committed"
            if left_transaction and connection.dialect.name == "postgresql":
                how += (
                    " (an index built CONCURRENTLY is left invalid: drop it before you "
                    "retry, and give its revision set_for_this_revision(table_lock=0))"
                )
            raise MigrationError(
                f"{revision} could not lock a table within {timeouts.table_lock:g} s, "
                f"{how}. Another transaction holds a lock on it: usually a long query "
                "or report, a backup, or a session left idle in a transaction "
                "(docs/migrations.md shows how to find it). The database is at the "
                "revision before it; upgrade again. More time: "
                "table_lock_timeout=SECONDS, retry_for=SECONDS."
            ) from None
        log.warning(
            "%s could not lock a table within %g s; trying again in %.1f s",
            revision,
            timeouts.table_lock,
            pause,
        )
        sleep(connection, pause)


def has_a_naming_convention() -> bool:
    """Whether the models' metadata names constraints, as revisions create them,
    beyond SQLAlchemy's default (which names indexes only)."""
    metadata = context.get_context().opts.get("target_metadata")
    return isinstance(metadata, MetaData) and set(metadata.naming_convention) > {"ix"}


@contextlib.contextmanager
def in_the_callers_transaction() -> Iterator[None]:
    """autocommit_block() inside a transaction that is not Alembic's: it cannot
    leave it (Alembic would fail on a bare assertion), so it stays in it."""
    yield


def noting_autocommit_blocks() -> list[bool]:
    """A list that holds True once a revision has left its transaction with
    autocommit_block(): what it did then is committed, and a retry would repeat it."""
    migration_context = context.get_context()
    leave = migration_context.autocommit_block
    left: list[bool] = []

    @contextlib.contextmanager
    def autocommit_block() -> Iterator[None]:
        left.append(True)
        with leave():
            yield

    migration_context.autocommit_block = autocommit_block  # type: ignore[method-assign]
    return left


def name_of_the_revision_being_run(command: str | None) -> str:
    """The revision that was running when a table lock could not be had, as
    "Revision <id> (<file>)": the next one after the database's, or for a
    downgrade the database's own."""
    current = set(context.get_context().get_current_heads())
    script = context.script
    if command == "downgrade":
        running = [script.get_revision(head) for head in current]
    else:
        running = [
            revision
            for revision in script.walk_revisions()
            if set(to_tuple(revision.down_revision, default=())) == current
            or (not current and revision.down_revision is None)
        ]
    names = [
        f"Revision {each.revision} ({Path(each.path).name})" for each in running if each
    ]
    return ", ".join(names) or "A revision"

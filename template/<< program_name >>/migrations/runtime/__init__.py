"""The template's runtime: what the migrations need beyond Alembic. Nobody edits
it, and `copier update` replaces it.

This module is the Python API, which the migrations package exports:

    from <package> import migrations

    migrations.upgrade()              # in a script, or a synchronous application
    await migrations.upgrade_async()  # in async code: a running event loop

They run Alembic's own commands with a configuration built from this package
instead of alembic.ini, so they take the same path as the `alembic` command
(env.py, then environment.py), from any working directory and from an installed
wheel, and leave the application's logging alone. upgrade() at head, the usual
case at start-up, imports no Alembic at all: one read of the database.
"""

import asyncio
import threading
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from ... import settings
from . import history
from .database import engine_for, on_connection, refuse_a_blank_variable
from .errors import MigrationError
from .lock import CANCELLED
from .timeouts import Timeouts, set_for_this_revision

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine
    from typing_extensions import Unpack

    from .timeouts import TimeoutOptions

__all__ = [
    "MigrationError",
    "alembic_config",
    "current",
    "current_async",
    "downgrade",
    "set_for_this_revision",
    "upgrade",
    "upgrade_async",
]


def upgrade(revision: str = "head", **timeouts: "Unpack[TimeoutOptions]") -> None:
    """Upgrade the database to ``revision`` (by default the newest).

    Safe to call from several processes at once: they take turns, and each revision
    runs once. Safe on a live database: a statement waits for a table's lock a few
    seconds at most, and a revision that could not have one is tried again.
    The timeouts, in seconds (see timeouts.py):

    - migration_lock_timeout: for another process's migration (default 60);
    - table_lock_timeout: each statement, for a table's lock (default 5; 0: no limit);
    - statement_timeout: each statement, to run (default: the server's);
    - retry_for: trying again a revision that could not lock a table (default 60).

    Raises MigrationError, with a message saying what to do, when the database
    cannot be reached or a lock cannot be had. In a running event loop, await
    upgrade_async() instead.
    """
    checked = Timeouts.from_keywords("upgrade", timeouts)
    if revision == "head" and at_head():
        return  # the usual case at start-up: one read, and nothing to do
    run_command("upgrade", revision, checked)


async def upgrade_async(
    revision: str = "head", **timeouts: "Unpack[TimeoutOptions]"
) -> None:
    """upgrade(), for async code (an application's start-up hook): it runs in a
    worker thread, and the event loop goes on running other tasks meanwhile.
    Cancelled, it stops waiting for the lock (or for a retry) and runs no further
    revision; one that has begun runs to its end."""
    cancelled = threading.Event()
    token = CANCELLED.set(cancelled)  # the thread runs in a copy of this context
    try:
        await asyncio.to_thread(upgrade, revision, **timeouts)
    finally:
        cancelled.set()
        CANCELLED.reset(token)


def downgrade(revision: str, **timeouts: "Unpack[TimeoutOptions]") -> None:
    """Downgrade the database to ``revision``: an id, ``-1``, or ``base`` (empty).
    The timeouts are upgrade()'s."""
    run_command("downgrade", revision, Timeouts.from_keywords("downgrade", timeouts))


def current() -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    return on_connection(reading_engine(), current_revision)


async def current_async() -> str | None:
    """current(), for async code."""
    return await asyncio.to_thread(current)


def alembic_config() -> "Config":
    """The Alembic configuration of this package, as the Python API uses it: a
    revision written from Python is recorded in head.txt too (history.py)."""
    from alembic.config import Config

    config = Config()
    # configparser interpolates "%": double it in case the path has one.
    config.set_main_option(
        "script_location", str(history.MIGRATIONS).replace("%", "%%")
    )
    for option, value in {
        "hooks": "record_head",
        "record_head.type": "module",
        "record_head.module": history.COMMAND.split()[-1],
        "record_head.options": "record",
    }.items():
        config.set_section_option("post_write_hooks", option, value)
    config.attributes["configure_logger"] = False
    return config


def run_command(name: str, revision: str, timeouts: Timeouts) -> None:
    """Alembic's command `name`, which runs env.py, and so environment.py."""
    from alembic import command

    config = alembic_config()
    config.attributes.update(command=name, timeouts=timeouts)
    getattr(command, name)(config, revision)


def at_head() -> bool:
    """True if the database ran every revision of the history, up to the newest,
    as far as one read of it can tell: its head, and how many it recorded."""
    head, ran = on_connection(reading_engine(), database_state)
    files = history.revision_files()
    return head == script_heads(files) and ran == len(files)


def reading_engine() -> "Engine | AsyncEngine":
    """The configured database's engine, for work that only reads: no transaction."""
    refuse_a_blank_variable()
    return engine_for(settings.database_url()).execution_options(
        isolation_level="AUTOCOMMIT"
    )


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def database_state(connection: Connection) -> tuple[tuple[str, ...], int]:
    """What alembic_version holds, and the number of revisions the record of
    applied revisions holds; nothing when unsure, so that upgrade() then takes the
    full, locked path, which handles every case."""
    try:
        rows = connection.execute(
            text(
                "SELECT version_num, (SELECT count(*) FROM alembic_version_applied)"
                " FROM alembic_version"
            )
        ).all()
    except DBAPIError:  # no such table yet, or anything else: not sure
        return (), 0
    return tuple(sorted(version for version, _ in rows)), rows[0][1] if rows else 0


def script_heads(files: list[str]) -> tuple[str, ...]:
    """The newest revisions of this package: from head.txt when it describes the
    revision files on disk (`files`), with no Alembic and no revision read, however
    long the history; otherwise (a revision written by hand) from the revisions."""
    if recorded := history.recorded_head(files):
        return () if recorded == history.BASE else (recorded,)
    return tuple(sorted(history.script_directory().get_heads()))

"""The template's runtime: the record of the revisions each database ran.

Alembic keeps only the head in alembic_version and takes every revision below it
as run. Beside it, alembic_version_applied keeps a row per revision the database
ran: its id, its parent then, a checksum of its code, when, how long it took, and
how it came to be there. Each row is written in its revision's transaction, and a
downgrade removes it.

Before a command writes, under the migration lock, reconcile() compares the record
with the history:

- a database at a head the record does not hold (one from before the record, or
  migrated by another tool) is taken as having run everything up to it, once;
- a revision below the head that the database never ran (a rebase, a merge, a
  down_revision edited by hand) is run now, out of order;
- a revision it ran whose code has changed since stops the command, until the
  change is reviewed and accepted.
"""

import ast
import functools
import hashlib
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from alembic.util import CommandError, to_tuple
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.schema import CreateTable

from .errors import MigrationError
from .history import COMMAND

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext, MigrationInfo
    from alembic.script import Script, ScriptDirectory
    from alembic.script.revision import RevisionMap

log = logging.getLogger("alembic.env")

SUFFIX = "_applied"
# What a row's `how` says.
UPGRADED, OUT_OF_ORDER, TAKEN_AS_RUN, STAMPED = (
    "upgrade",
    "out of order",
    "taken as run",
    "stamp",
)
# A checksum's parts, in order: upgrade(), downgrade(), and the rest of the file,
# after the format's mark: a record written in an earlier format is rewritten.
PARTS = ("upgrade()", "downgrade()", "the code outside upgrade() and downgrade()")
CHECKSUM_FORMAT = "2:"
# Where the revision stands in the history, not what it does: a rebase changes
# these and nothing else.
PLACE = {"revision", "down_revision", "branch_labels", "depends_on"}
# Fields of a syntax tree that say nothing about what the code does.
NOT_CODE = {"ctx", "kind", "type_comment", "annotation", "returns"}


@functools.cache  # one Table: SQLAlchemy compiles its statements once
def table_for(version_table: str, schema: str | None = None) -> Table:
    return Table(
        version_table + SUFFIX,
        MetaData(),
        Column("revision", String(128), primary_key=True),
        Column("down_revision", Text),  # a merge's parents, however many
        Column("checksum", String(64), nullable=False),
        Column("how", String(16), nullable=False),
        Column(
            "applied_at",
            DateTime(timezone=True),
            server_default=func.current_timestamp(),
            nullable=False,
        ),
        Column("seconds", Float),
        schema=schema,
    )


def table_of(ctx: "MigrationContext") -> Table:
    return table_for(ctx.version_table, ctx.version_table_schema)


def create_offline(ctx: "MigrationContext") -> None:
    """In offline SQL, which cannot read the database: the record's table, unless
    it has one. What ran before the record is recorded by the next online run."""
    ctx.execute(CreateTable(table_of(ctx), if_not_exists=True))


# The checksum: what a revision does, not how it is written.


_checksums: dict[tuple[str, int, int], str] = {}


def checksum(path: str) -> str:
    """Digests of upgrade(), downgrade() and the rest, joined by "/". Left out:
    comments, formatting, docstrings, type annotations, imports the code does not
    use (the order of those it does) and the revision's place in the history. The
    same on every Python version, for the same code."""
    status = os.stat(path)
    key = (path, status.st_mtime_ns, status.st_size)
    if key not in _checksums:
        tree = ast.parse(Path(path).read_bytes())
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        functions = {"upgrade": "", "downgrade": ""}
        imports, rest = set(), []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in functions:
                functions[node.name] = canonical(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.update(imported(node, used))
            elif not places(node):
                rest.append(node)
        parts = [*functions.values(), canonical(rest) + repr(sorted(imports))]
        _checksums[key] = CHECKSUM_FORMAT + "/".join(
            hashlib.sha256(part.encode()).hexdigest()[:16] for part in parts
        )
    return _checksums[key]


def imported(node: ast.Import | ast.ImportFrom, used: set[str]) -> list[str]:
    """Each name an import statement binds and the code uses, as a line of its own
    would import it."""
    source = (
        f"from {'.' * node.level}{node.module or ''} "
        if isinstance(node, ast.ImportFrom)
        else ""
    )
    return [
        f"{source}import {alias.name} as {alias.asname}"
        for alias in node.names
        if (alias.asname or alias.name.split(".")[0]) in used
    ]


def places(node: ast.stmt) -> bool:
    """True for `down_revision = ...` and its like."""
    targets = (
        node.targets
        if isinstance(node, ast.Assign)
        else [getattr(node, "target", None)]
    )
    return any(
        isinstance(target, ast.Name) and target.id in PLACE for target in targets
    )


def canonical(node: object) -> str:
    """A syntax tree as text: its nodes and their fields, without positions, and
    without the empty fields that newer Pythons add."""
    if isinstance(node, list):
        return (
            "["
            + ",".join(canonical(each) for each in node if not documents(each))
            + "]"
        )
    if not isinstance(node, ast.AST):
        return repr(node)
    fields = (
        f"{name}={canonical(value)}"
        for name, value in ast.iter_fields(node)
        if name not in NOT_CODE and value is not None and value != []
    )
    return f"{type(node).__name__}({','.join(fields)})"


def documents(node: object) -> bool:
    """True for a docstring, or any other string standing alone as a statement."""
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def what_changed(recorded: str, path: str) -> str | None:
    """What differs between the revision file at `path` and the recorded checksum,
    in words; None if nothing does, or if the record's is of an earlier format
    (the next upgrade rewrites it)."""
    now = checksum(path)
    if recorded == now or not recorded.startswith(CHECKSUM_FORMAT):
        return None
    old, new = (digests.split(":")[-1].split("/") for digests in (recorded, now))
    parts = zip(PARTS, old, new, strict=True)
    return " and ".join(part for part, before, after in parts if before != after)


# Writing the record, as the revisions run.


class Record:
    """The record, in one run of a command that writes: reconcile() before the
    revisions run, and a row per revision as each ends, in its transaction (this
    is Alembic's on_version_apply callback), gone again when it is downgraded; at
    base, the record's table goes too."""

    def __init__(self) -> None:
        self.since = time.monotonic()
        self.has_table = False

    def __call__(
        self,
        *,
        ctx: "MigrationContext",
        step: "MigrationInfo",
        heads: set[str],
        **_: Any,
    ) -> None:
        took = None if ctx.as_sql else time.monotonic() - self.since
        if not (self.has_table or ctx.as_sql):  # offline, prepare_offline() made it
            assert ctx.connection is not None
            table_of(ctx).create(ctx.connection, checkfirst=True)
            self.has_table = True
        if step.is_stamp:
            if not ctx.as_sql:  # offline, the record cannot be read
                follow_stamp(ctx, step.revision_map, heads)
        elif step.is_upgrade:
            revision = step.up_revision
            assert revision is not None
            how = UPGRADED if revision.revision in heads else OUT_OF_ORDER
            write(ctx, revision, how, took)  # type: ignore[arg-type]
        elif heads or ctx.as_sql:
            table = table_of(ctx)
            ctx.execute(delete(table).where(table.c.revision.in_(step.up_revision_ids)))
        else:  # at base, where nothing has run: no record, as no revision's tables
            assert ctx.connection is not None
            table_of(ctx).drop(ctx.connection)
        self.since = time.monotonic()

    def reconcile(
        self, ctx: "MigrationContext", script: "ScriptDirectory", command: str | None
    ) -> None:
        """Take what ran before the record as it is, run what the database never
        ran below its head, and stop if what it ran has changed since. A stamp
        says where the database is: the record follows it (__call__)."""
        if command in ("stamp", "ensure_version"):
            return
        table = table_of(ctx)
        connection = ctx.connection
        assert connection is not None
        with ctx.begin_transaction(_per_migration=True):
            heads = ctx.get_current_heads()
            recorded = {}
            if connection.dialect.has_table(connection, table.name, table.schema):
                query = select(table.c.revision, table.c.checksum)
                recorded = dict(connection.execute(query).all())
            elif not heads:  # nothing has run: the first revision's row makes it
                self.since = time.monotonic()
                return
            else:
                table.create(connection)
            self.has_table = True
            history = ancestors(script.revision_map, heads)
            # Rows above the head (another tool downgraded) go: the record follows
            # alembic_version, and the revisions' rows can be written afresh.
            if stale := set(recorded) - {each.revision for each in history}:
                connection.execute(delete(table).where(table.c.revision.in_(stale)))
            for revision in history:  # a checksum of an earlier format: rewritten
                ran = recorded.get(revision.revision)
                if ran and not ran.startswith(CHECKSUM_FORMAT):
                    recorded[revision.revision] = checksum(revision.path)
                    connection.execute(
                        update(table)
                        .where(table.c.revision == revision.revision)
                        .values(checksum=recorded[revision.revision])
                    )
            older, missing = unrecorded(history, recorded, heads)
            if older:
                log.info(
                    "The database is at %s, with no record of the %d revisions up to "
                    "%s: took them as run, and recorded them in %s.",
                    ", ".join(heads),
                    record_as(ctx, older, TAKEN_AS_RUN),
                    older[-1].revision,
                    table.name,
                )
        for revision in history:
            ran = recorded.get(revision.revision)
            if ran is not None and (changed := what_changed(ran, revision.path)):
                raise MigrationError(
                    f"{name_of(revision)} has changed since it ran on this database: "
                    f"{changed} is not what ran. "
                    "Review the change; if the database needs nothing more for it, "
                    f"`{COMMAND} accept {revision.revision}` records it as it is now."
                )
        if missing and command == "downgrade":
            raise MigrationError(
                f"{name_of(missing[0])} never ran on this database, though it is "
                f"below the database's head {', '.join(heads)}: its place in the "
                "history changed after that ran here. Upgrade first (which runs it), "
                "then downgrade."
            )
        for revision in missing:
            self.run_out_of_order(ctx, script.revision_map, revision, heads)
        self.since = time.monotonic()  # the lock's wait is no revision's time

    def run_out_of_order(
        self,
        ctx: "MigrationContext",
        revisions: "RevisionMap",
        revision: "Script",
        heads: tuple[str, ...],
    ) -> None:
        """A revision below the head, run now as Alembic runs one: in a transaction
        of its own, then the run's callbacks (this one records it)."""
        from alembic.operations import Operations
        from alembic.runtime.migration import MigrationInfo

        log.warning(
            "Running %s out of order: the database is past it, at %s, and never "
            "ran it.",
            name_of(revision),
            ", ".join(heads),
        )
        step = MigrationInfo(
            revisions,
            is_upgrade=True,
            is_stamp=False,
            up_revisions=revision.revision,
            down_revisions=to_tuple(revision.down_revision, default=()),
        )
        self.since = time.monotonic()
        with Operations.context(ctx), ctx.begin_transaction(_per_migration=True):
            revision.module.upgrade()
            for callback in ctx.on_version_apply_callbacks:
                callback(ctx=ctx, step=step, heads=set(heads), run_args={})


def write(
    ctx: "MigrationContext", revision: "Script", how: str, seconds: float | None
) -> None:
    ctx.execute(insert(table_of(ctx)).values(row_of(revision, how, seconds)))


def row_of(
    revision: "Script", how: str, seconds: float | None = None
) -> dict[str, Any]:
    return {
        "revision": revision.revision,
        "down_revision": " ".join(to_tuple(revision.down_revision, default=())) or None,
        "checksum": checksum(revision.path),
        "how": how,
        "seconds": seconds,
    }


def record_as(ctx: "MigrationContext", revisions: list["Script"], how: str) -> int:
    """Rows for revisions that ran before the record; the number written."""
    assert ctx.connection is not None
    if revisions:
        rows = [row_of(each, how) for each in revisions]
        ctx.connection.execute(insert(table_of(ctx)), rows)
    return len(revisions)


def follow_stamp(
    ctx: "MigrationContext", revisions: "RevisionMap", heads: Iterable[str]
) -> None:
    """After a stamp: every revision up to `heads` recorded, and no other."""
    table = table_of(ctx)
    connection = ctx.connection
    assert connection is not None
    recorded = set(connection.scalars(select(table.c.revision)))
    below = ancestors(revisions, heads)
    if gone := recorded - {each.revision for each in below}:
        connection.execute(delete(table).where(table.c.revision.in_(gone)))
    record_as(ctx, [each for each in below if each.revision not in recorded], STAMPED)


def ancestors(revisions: "RevisionMap", heads: Iterable[str]) -> list["Script"]:
    """The revisions up to `heads`, heads included, oldest first."""
    heads = tuple(heads)
    if not heads:
        return []
    if len(heads) == 1 and (line := one_line_below(revisions, heads[0])) is not None:
        return line
    # A ScriptDirectory's revision map holds Scripts: a Revision with its file.
    return cast("list[Script]", list(revisions.iterate_revisions(heads, "base"))[::-1])


def one_line_below(revisions: "RevisionMap", head: str) -> list["Script"] | None:
    """The head and the revisions below it, oldest first, where each follows one
    revision and depends on none, as in most histories: one step each, where
    Alembic's own walk sorts the whole graph (six times slower at 200 revisions,
    once per command). None for a merge or a depends_on."""
    line = []
    below: str | None = head
    while below is not None:
        revision = cast("Script", revisions.get_revision(below))
        if revision.dependencies or not isinstance(revision.down_revision, str | None):
            return None
        line.append(revision)
        below = revision.down_revision
    return line[::-1]


def unrecorded(
    history: list["Script"], recorded: Iterable[str], heads: Iterable[str]
) -> tuple[list["Script"], list["Script"]]:
    """The revisions up to the heads (`history`, oldest first) that the record
    lacks, in two lists: those from before the record, which ran (all of them if
    the record lacks a head: another tool migrated since); and those above its
    oldest row, which never ran here (a rebase, a merge or a hand edit put them
    below the head)."""
    recorded = set(recorded)
    lacking = [each for each in history if each.revision not in recorded]
    if not lacking or not set(heads) <= recorded:
        return lacking, []
    first = next(i for i, each in enumerate(history) if each.revision in recorded)
    return history[:first], [each for each in lacking if each not in history[:first]]


def name_of(revision: "Script") -> str:
    return f"Revision {revision.revision} ({Path(revision.path).name})"


# Seeing the record, and accepting a change.


def listing(ctx: "MigrationContext", script: "ScriptDirectory") -> str:
    """Each revision of the history, oldest first, then any the database ran that
    the history no longer has: when and how it ran here, and whether its file still
    holds what ran."""
    table = table_of(ctx)
    connection = ctx.connection
    assert connection is not None
    rows = {}
    if connection.dialect.has_table(connection, table.name, table.schema):
        rows = {row.revision: row for row in connection.execute(select(table))}
    heads = ctx.get_current_heads()
    older, _ = unrecorded(ancestors(script.revision_map, heads), rows, heads)
    lines = [("revision", "ran", "seconds", "how", "file")]
    for revision in ancestors(script.revision_map, script.get_heads()):
        row = rows.pop(revision.revision, None)
        file = Path(revision.path).name
        if row is None:
            ran = "before the record" if revision in older else "never"
            lines.append((revision.revision, ran, "", "", file))
            continue
        if changed := what_changed(row.checksum, revision.path):
            file += f" ({changed} changed)"
        lines.append(described(row, file))
    lines += [described(row, "(not in the history)") for row in rows.values()]
    widths = [max(len(line[column]) for line in lines) for column in range(4)]
    return "\n".join(
        "  ".join([*map(str.ljust, line[:4], widths), line[4]]) for line in lines
    )


def described(row: Any, file: str) -> tuple[str, str, str, str, str]:
    seconds = "" if row.seconds is None else f"{row.seconds:.2f}"
    return (row.revision, f"{row.applied_at:%Y-%m-%d %H:%M:%S}", seconds, row.how, file)


def accept(
    ctx: "MigrationContext", script: "ScriptDirectory", revisions: list[str]
) -> list[str]:
    """Record the revisions' files as they are now, as what ran."""
    table = table_of(ctx)
    connection = ctx.connection
    assert connection is not None
    done = []
    if not connection.dialect.has_table(connection, table.name, table.schema):
        raise MigrationError(
            "This database keeps no record of its revisions yet: its next upgrade "
            "records each one as it is then. Nothing to accept."
        )
    with ctx.begin_transaction(_per_migration=True):
        for name in revisions:
            try:
                revision = script.get_revision(name)
            except CommandError:
                raise MigrationError(
                    f"{name!r} is no revision of the history: "
                    f"`{COMMAND} applied` lists them."
                ) from None
            changed = connection.execute(
                update(table)
                .where(table.c.revision == revision.revision)
                .values(checksum=checksum(revision.path))
            )
            if not changed.rowcount:
                raise MigrationError(
                    f"{name_of(revision)} is not in this database's record: it never "
                    "ran here, or ran before the record, which the next upgrade writes "
                    "as the revisions are then. Nothing to accept."
                )
            done.append(name_of(revision))
    return done

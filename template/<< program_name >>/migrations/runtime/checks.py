"""The template's runtime: the work that tests/test_migrations.py's checks share,
so that the suite grows with the history as pytest-alembic's own checks do.

pytest-alembic's checks each walk the history on their own, and its check that a
downgrade leaves no trace compares the whole schema at every step. Here one walk,
pytest-alembic's test_up_down_consistency, notes the database after each of its
steps: its schema as text (SQLite's sqlite_master; PostgreSQL's catalog, as
pg_dump prints it) and its tables' rows. The other checks read those notes: its
first pass upgrades every revision from an empty database, and where each
downgrade gave back the database its upgrade found, no downgrade left a trace.
Whatever the notes cannot vouch for gets pytest-alembic's own check: its verdict,
its message."""

import dataclasses
import itertools
import subprocess
import sys
from typing import TYPE_CHECKING, Any, cast

from pytest_alembic.plugin.error import AlembicTestFailure
from pytest_alembic.tests import default
from pytest_alembic.tests.experimental import downgrade_leaves_no_trace
from pytest_alembic.tests.experimental.all_models_register_on_metadata import (
    parse_collection_output,
)
from sqlalchemy import Connection, bindparam, text

from .applied import table_of
from .database import on_connection

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext as AlembicContext
    from alembic.script.revision import RevisionMap
    from pytest_alembic.runner import MigrationContext
    from sqlalchemy import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

SchemaText = list[tuple[Any, ...]]
# A database as the walk notes it: its schema as text, and each table's rows.
Note = tuple[SchemaText, dict[str, list[str]]]
# The whole schema as text, but Alembic's tables (the version table and the
# runtime's record of it, named as env.py configures them), which autogenerate
# leaves out too. On PostgreSQL, everything autogenerate and alembic-postgresql-
# enum compare, and more: what pg_dump would print of each object, less its oid.
SCHEMA_TEXTS = {
    "sqlite": """
SELECT type, name, tbl_name, sql FROM sqlite_master
WHERE tbl_name NOT IN :alembic_tables
ORDER BY type, name
""",
    "postgresql": """
WITH user_schemas AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname <> 'information_schema' AND nspname !~ '^pg_'
),
alembic_tables AS (
    SELECT c.oid FROM pg_class c JOIN user_schemas n ON n.oid = c.relnamespace
    WHERE c.relname IN :alembic_tables
)
SELECT 'relation', n.nspname, c.relname,
    concat_ws(' ', c.relkind, c.relpersistence, quote_nullable(c.reloptions),
              quote_nullable(obj_description(c.oid, 'pg_class')))
FROM pg_class c JOIN user_schemas n ON n.oid = c.relnamespace
WHERE c.relkind NOT IN ('t', 'i', 'I', 'S') AND c.oid NOT IN (SELECT oid FROM alembic_tables)
UNION ALL
SELECT 'column', n.nspname, c.relname || '.' || a.attname,
    concat_ws(' ', format_type(a.atttypid, a.atttypmod), a.attnotnull,
              quote_nullable(pg_get_expr(d.adbin, d.adrelid)), a.attidentity,
              a.attgenerated, quote_nullable(co.collname),
              quote_nullable(col_description(c.oid, a.attnum)))
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN user_schemas n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind NOT IN ('t', 'i', 'I', 'S')
AND c.oid NOT IN (SELECT oid FROM alembic_tables)
UNION ALL
SELECT 'constraint', n.nspname, coalesce(c.relname, '') || '.' || k.conname,
    concat_ws(' ', pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred,
              quote_nullable(obj_description(k.oid, 'pg_constraint')))
FROM pg_constraint k JOIN user_schemas n ON n.oid = k.connamespace
LEFT JOIN pg_class c ON c.oid = k.conrelid
WHERE k.conrelid NOT IN (SELECT oid FROM alembic_tables)
UNION ALL
SELECT 'index', n.nspname, i.relname,
    concat_ws(' ', pg_get_indexdef(i.oid), quote_nullable(obj_description(i.oid, 'pg_class')))
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
JOIN user_schemas n ON n.oid = i.relnamespace
WHERE x.indrelid NOT IN (SELECT oid FROM alembic_tables)
UNION ALL
SELECT 'type', n.nspname, t.typname,
    concat_ws(' ', t.typtype, quote_nullable(format_type(t.typbasetype, t.typtypmod)),
              t.typnotnull, quote_nullable(t.typdefault),
              quote_nullable((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                              FROM pg_enum e WHERE e.enumtypid = t.oid)),
              quote_nullable((SELECT string_agg(pg_get_constraintdef(k.oid), ','
                                                ORDER BY k.conname)
                              FROM pg_constraint k WHERE k.contypid = t.oid)))
FROM pg_type t JOIN user_schemas n ON n.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd', 'r', 'm')
UNION ALL
SELECT 'sequence', n.nspname, c.relname,
    concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
              s.seqcache, s.seqcycle)
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
JOIN user_schemas n ON n.oid = c.relnamespace
UNION ALL
SELECT 'view', n.nspname, c.relname, pg_get_viewdef(c.oid)
FROM pg_class c JOIN user_schemas n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
UNION ALL
SELECT 'trigger', n.nspname, c.relname || '.' || g.tgname, pg_get_triggerdef(g.oid)
FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
JOIN user_schemas n ON n.oid = c.relnamespace
WHERE NOT g.tgisinternal
UNION ALL
SELECT 'function', n.nspname, p.oid::regprocedure::text, pg_get_functiondef(p.oid)
FROM pg_proc p JOIN user_schemas n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p')
UNION ALL
SELECT 'extension', n.nspname, e.extname, e.extversion
FROM pg_extension e JOIN user_schemas n ON n.oid = e.extnamespace
UNION ALL
SELECT 'schema', nspname, '', quote_nullable(obj_description(oid, 'pg_namespace'))
FROM user_schemas
ORDER BY 1, 2, 3, 4
""",
}
# What autogenerate compares, of what the PostgreSQL notes hold.
AUTOGENERATE_SEES = {"relation", "column", "constraint", "index", "type"}
# Tables whose rows one query counts: SQLite's limit on a compound SELECT is 500.
TABLES_PER_QUERY = 250

# pytest-alembic's trial of one revision: upgrade, downgrade, and its comparison.
REVISION_CYCLE = downgrade_leaves_no_trace.check_revision_cycle
# pytest-alembic's run of env.py in a fresh interpreter, less its search for the
# module of each table (gc.get_referrers, a second at a few hundred tables): the
# check compares tables only.
ENV_PY_TABLES = (
    "from pytest_alembic.tests.experimental import collect_clean_alembic_environment"
    " as clean\nclean.identify_modules = lambda metadata: []\nclean.run()"
)


@dataclasses.dataclass
class Walk:
    """What pytest-alembic's test_up_down_consistency met, step by step."""

    reached_head: bool = False  # its first pass upgraded every revision
    failure: Exception | None = None
    # test_model_definitions_match_ddl, where the first pass reached head: None if
    # the models matched, else its failure
    models_differ: Exception | None = None
    # The database after each step (SCHEMA_TEXTS and rows): the first pass's
    # upgrades, and the downgrades
    up: dict[str, Note] = dataclasses.field(default_factory=dict)
    down: dict[str, Note] = dataclasses.field(default_factory=dict)
    # Each revision follows the one before it, and only that one: the walk down
    # then undoes one revision a step
    in_a_line: bool = False

    def left_no_trace(self, runner: "MigrationContext", floor: str | None) -> bool:
        """Whether the walk vouches for every revision after the floor."""
        steps = self.steps_after(runner, floor)
        return steps is not None and all(
            self.vouches_for(below, revision) for below, revision in steps
        )

    def vouches_for(self, below: str, revision: str) -> bool:
        """Whether the walk down ran the revision's downgrade on the database its
        upgrade left (the same schema, the same rows), as pytest-alembic's trial of
        it does, and the downgrade gave back the schema its upgrade found. In a
        line of revisions only: the caller's to know (in_a_line)."""
        notes = [self.up.get(revision), self.down.get(revision)]
        found, left = self.up.get(below), self.down.get(below)
        return (
            notes[0] is not None
            and notes[0] == notes[1]
            and found is not None
            and left is not None
            and found[0] == left[0]
        )

    def trial(
        self, runner: "MigrationContext", connection: Connection, revision: str
    ) -> None:
        """pytest-alembic's trial of a revision (check_revision_cycle: the revision
        it names, or the first after base), but where the walk vouches for it."""
        revisions = runner.history.revisions
        tried = revisions[1] if revision == "base" else revision
        below = revisions[revisions.index(tried) - 1]
        if not (self.in_a_line and self.vouches_for(below, tried)):
            cycle_by_schema_text(runner, connection, revision)

    def first_trace(self, runner: "MigrationContext", floor: str | None) -> str | None:
        """Where the walk down first found a downgrade after the floor leaving a
        schema that autogenerate would tell from the one its upgrade found: the
        revision, and what differs. None if nowhere, or no notes to tell."""
        for below, revision in reversed(self.steps_after(runner, floor) or []):
            found, left = self.up.get(below), self.down.get(below)
            if found is None or left is None:
                continue
            seen = [set(filter(autogenerate_sees, note[0])) for note in (found, left)]
            if seen[0] != seen[1]:
                return (
                    f"The downgrade of {revision} leaves the schema otherwise than its"
                    f" upgrade found it. Left: {sorted(seen[1] - seen[0])}."
                    f" Gone: {sorted(seen[0] - seen[1])}."
                )
        return None

    def steps_after(
        self, runner: "MigrationContext", floor: str | None
    ) -> list[tuple[str, str]] | None:
        """Each revision after the floor, with the one below it (base below the
        first), as pytest-alembic's trials take them; None if the history is not
        one line."""
        if not self.in_a_line:
            return None
        revisions = runner.history.revisions[:-1]  # base, then each revision
        steps = list(itertools.pairwise(revisions))
        if floor is None:
            return steps
        return steps[revisions.index(floor) :] if floor in revisions else []


def autogenerate_sees(row: tuple[Any, ...]) -> bool:
    """Whether a row of the schema's text is of a kind autogenerate compares (all
    of SQLite's are tables and indexes, or views and triggers on them)."""
    return row[0] in AUTOGENERATE_SEES or row[0] in ("table", "index")


def is_a_line(revision_map: "RevisionMap", revisions: list[str]) -> bool:
    """Whether each revision follows the one before it, and only that one."""
    return all(
        revision_map.get_revision(revision).down_revision == below  # type: ignore[union-attr]
        for below, revision in itertools.pairwise([None, *revisions])
    )


def walk_the_history(runner: "MigrationContext") -> Walk:
    """pytest-alembic's test_up_down_consistency, noting what it met."""
    history = runner.history
    walk = Walk(in_a_line=is_a_line(history.map, history.revisions[1:-1]))
    try:
        default.test_up_down_consistency(cast("MigrationContext", Noting(runner, walk)))
    except Exception as failure:  # its own, to raise in its own test
        walk.failure = failure
    return walk


class Noting:
    """A pytest-alembic runner that notes the database after each step of the
    walk in a Walk, where its schema reads as text."""

    def __init__(self, runner: "MigrationContext", walk: Walk):
        self.runner, self.walk = runner, walk
        self.engine = cast(
            "Engine | AsyncEngine", runner.connection_executor.connection
        )
        self.notes = self.engine.dialect.name in SCHEMA_TEXTS
        self.alembic_tables = alembic_tables(runner) if self.notes else ()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runner, name)

    def migrate_up_to(self, revision: str, **options: Any) -> str | None:
        result = self.runner.migrate_up_to(revision, **options)
        if self.notes and revision not in self.walk.up:  # the first pass
            self.walk.up[revision] = self.note()
        if revision == "heads" and not self.walk.reached_head:
            self.walk.reached_head = True
            try:  # where the database is as an upgrade from empty leaves it
                default.test_model_definitions_match_ddl(self.runner)
            except Exception as failure:  # its own, to raise in its own test
                self.walk.models_differ = failure
        return result

    def migrate_down_to(self, revision: str | None, **options: Any) -> str | None:
        result = self.runner.migrate_down_to(revision, **options)
        if self.notes and revision is not None:
            self.walk.down[revision] = self.note()
        return result

    def note(self) -> Note:
        def read(connection: Connection) -> Note:
            schema = schema_text(connection, self.alembic_tables) or []
            return schema, rows_of(connection, tables_in(connection, schema))

        return on_connection(self.engine, read)


def alembic_tables(runner: "MigrationContext") -> tuple[str, ...]:
    """The version table and the runtime's record of it, as env.py names them."""
    names: list[str] = []

    def read(_: Any, context: "AlembicContext") -> list[Any]:
        names.extend([context.version_table, table_of(context).name])
        return []

    runner.command_executor.execute_fn(read)
    return tuple(names)


def schema_text(
    connection: Connection, alembic_tables: tuple[str, ...] = ()
) -> SchemaText | None:
    """The schema as text (SCHEMA_TEXTS), less Alembic's tables; None on a
    database whose schema does not read as text."""
    query = SCHEMA_TEXTS.get(connection.dialect.name)
    if query is None:
        return None
    statement = text(query).bindparams(bindparam("alembic_tables", expanding=True))
    names = list(alembic_tables) or [""]  # IN () is no SQL
    return [
        tuple(row) for row in connection.execute(statement, {"alembic_tables": names})
    ]


def tables_in(connection: Connection, schema: SchemaText) -> list[str]:
    """The tables of the schema's text, quoted (schema-qualified on PostgreSQL),
    less SQLite's own: a sequence's next value is no row."""
    quote = connection.dialect.identifier_preparer.quote
    if connection.dialect.name == "sqlite":
        return [
            quote(name)
            for kind, name, *_ in schema
            if kind == "table" and not name.startswith("sqlite_")
        ]
    return [  # ("relation", schema, name, "r ..."): a table, or a partitioned one
        f"{quote(namespace)}.{quote(name)}"
        for kind, namespace, name, described in schema
        if kind == "relation" and described[:2] in ("r ", "p ")
    ]


def rows_of(connection: Connection, tables: list[str]) -> dict[str, list[str]]:
    """The rows of each table that has any, as sets: in an order of their own, each
    row's values by column name."""
    filled = []
    for start in range(0, len(tables), TABLES_PER_QUERY):
        query = " UNION ALL ".join(
            f"SELECT {index} WHERE EXISTS (SELECT 1 FROM {table})"
            for index, table in enumerate(
                tables[start : start + TABLES_PER_QUERY], start
            )
        )
        filled += [tables[index] for (index,) in connection.exec_driver_sql(query)]
    return {
        table: sorted(  # by column name: a column dropped and added again moves
            repr(sorted(row._asdict().items()))
            for row in connection.exec_driver_sql(f"SELECT * FROM {table}")
        )
        for table in filled
    }


def cycle_by_schema_text(
    runner: "MigrationContext", connection: Connection, revision: str
) -> None:
    """pytest-alembic's trial of a revision, made cheap where the schema reads as
    text (SCHEMA_TEXTS): a downgrade that leaves the text as it was before the
    upgrade leaves nothing autogenerate could see. Any other outcome gets
    pytest-alembic's own trial, which reflects the whole schema and compares it."""
    before = schema_text(connection)
    if before is not None:
        with connection.begin_nested() as trial:
            runner.migrate_up_one()
            try:
                runner.migrate_down_one()
            except NotImplementedError:  # its trial warns that this ends the check
                after = None
            else:
                after = schema_text(connection)
            trial.rollback()
        if after == before:
            return
    REVISION_CYCLE(runner, connection, revision)


def tables_env_py_sees(url: str, async_: bool) -> set[str]:
    """The tables on the metadata env.py gives Alembic, in a fresh interpreter as
    under `alembic`: a module nothing imports adds none."""
    command = [sys.executable, "-c", ENV_PY_TABLES, url, "0", str(int(async_))]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode:
        raise AlembicTestFailure(run.stderr)
    return set(parse_collection_output(run.stdout)["tables"])

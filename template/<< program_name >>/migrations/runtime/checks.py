"""The template's runtime: the work that tests/test_migrations.py's checks share,
so that the suite grows with the history as pytest-alembic's own checks do.

pytest-alembic's checks each walk the history on their own, and its check that a
downgrade leaves no trace compares the whole schema at every step. Here one walk,
pytest-alembic's test_up_down_consistency, notes the schema as text after each of
its steps (SQLite's sqlite_master; PostgreSQL's catalog, as pg_dump prints it),
and the other checks read those notes: its first pass upgrades every revision from
an empty database, and where each downgrade gave back the schema its upgrade
found, no downgrade left a trace. Whatever the notes cannot vouch for gets
pytest-alembic's own check: its verdict, its message."""

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
from sqlalchemy import Connection

from .database import on_connection

if TYPE_CHECKING:
    from alembic.script.revision import RevisionMap
    from pytest_alembic.runner import MigrationContext
    from sqlalchemy import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

SchemaText = list[tuple[Any, ...]]
# The whole schema as text, where the database keeps it so, but Alembic's version
# table (autogenerate leaves it out too): named as env.py configures it, known by
# its primary key. On PostgreSQL, everything autogenerate and alembic-postgresql-
# enum compare, and more: what pg_dump would print of each object, less its oid.
SCHEMA_TEXTS = {
    "sqlite": """
SELECT type, name, tbl_name, sql FROM sqlite_master
WHERE tbl_name NOT IN (
    SELECT name FROM sqlite_master WHERE type = 'table'
    AND sql LIKE '%CONSTRAINT ' || name || '_pkc PRIMARY KEY (version_num)%'
)
ORDER BY type, name
""",
    "postgresql": """
WITH user_schemas AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname <> 'information_schema' AND nspname !~ '^pg_'
),
version_tables AS (
    SELECT conrelid AS oid FROM pg_constraint
    WHERE contype = 'p' AND conname = conrelid::regclass::text || '_pkc'
)
SELECT 'relation', n.nspname, c.relname,
    concat_ws(' ', c.relkind, c.relpersistence, c.reloptions,
              obj_description(c.oid, 'pg_class'))
FROM pg_class c JOIN user_schemas n ON n.oid = c.relnamespace
WHERE c.relkind NOT IN ('t', 'i', 'I', 'S') AND c.oid NOT IN (SELECT oid FROM version_tables)
UNION ALL
SELECT 'column', n.nspname, c.relname || '.' || a.attname,
    concat_ws(' ', format_type(a.atttypid, a.atttypmod), a.attnotnull,
              'DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), a.attidentity,
              a.attgenerated, 'COLLATE ' || co.collname, col_description(c.oid, a.attnum))
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN user_schemas n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind NOT IN ('t', 'i', 'I', 'S')
AND c.oid NOT IN (SELECT oid FROM version_tables)
UNION ALL
SELECT 'constraint', n.nspname, coalesce(c.relname, '') || '.' || k.conname,
    concat_ws(' ', pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred,
              obj_description(k.oid, 'pg_constraint'))
FROM pg_constraint k JOIN user_schemas n ON n.oid = k.connamespace
LEFT JOIN pg_class c ON c.oid = k.conrelid
WHERE k.conrelid NOT IN (SELECT oid FROM version_tables)
UNION ALL
SELECT 'index', n.nspname, i.relname,
    concat_ws(' ', pg_get_indexdef(i.oid), obj_description(i.oid, 'pg_class'))
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
JOIN user_schemas n ON n.oid = i.relnamespace
WHERE x.indrelid NOT IN (SELECT oid FROM version_tables)
UNION ALL
SELECT 'type', n.nspname, t.typname,
    concat_ws(' ', t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
              t.typdefault, (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                             FROM pg_enum e WHERE e.enumtypid = t.oid),
              (SELECT string_agg(pg_get_constraintdef(k.oid), ',' ORDER BY k.conname)
               FROM pg_constraint k WHERE k.contypid = t.oid))
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
SELECT 'schema', nspname, '', obj_description(oid, 'pg_namespace') FROM user_schemas
ORDER BY 1, 2, 3, 4
""",
}

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
    # The schema's text after each step (SCHEMA_TEXTS): the first pass's
    # upgrades, and the downgrades
    up: dict[str, SchemaText] = dataclasses.field(default_factory=dict)
    down: dict[str, SchemaText] = dataclasses.field(default_factory=dict)

    def left_no_trace(self, runner: "MigrationContext", floor: str | None) -> bool:
        """Whether each downgrade after the floor gave back the schema its upgrade
        found. In a line of revisions, the walk down undoes them one by one from
        head: if every step matches the walk up, each revision's upgrade and
        downgrade leave the schema as they found it."""
        steps = steps_after(runner, floor)
        return steps is not None and all(
            below in self.up and self.down.get(below) == self.up[below]
            for below, _ in steps
        )

    def first_trace(self, runner: "MigrationContext", floor: str | None) -> str | None:
        """The revision after the floor whose downgrade the walk down first found
        leaving the schema otherwise than its upgrade found it, and what differs;
        None if there is none, or no notes to tell."""
        for below, revision in reversed(steps_after(runner, floor) or []):
            found, left = self.up.get(below), self.down.get(below)
            if found is not None and left is not None and found != left:
                return (
                    f"The downgrade of {revision} leaves the schema otherwise than its"
                    f" upgrade found it. Left: {sorted(set(left) - set(found))}."
                    f" Gone: {sorted(set(found) - set(left))}."
                )
        return None


def steps_after(
    runner: "MigrationContext", floor: str | None
) -> list[tuple[str, str]] | None:
    """Each revision after the floor, with the one below it (base below the
    first); None if the history is not one line."""
    revisions = runner.history.revisions[:-1]  # base, then each revision
    if not is_a_line(runner.history.map, revisions[1:]):
        return None
    steps = list(itertools.pairwise(revisions))
    return steps[revisions.index(floor) :] if floor else steps


def walk_the_history(runner: "MigrationContext") -> Walk:
    """pytest-alembic's test_up_down_consistency, noting what it met."""
    walk = Walk()
    try:
        default.test_up_down_consistency(cast("MigrationContext", Noting(runner, walk)))
    except Exception as failure:  # its own, to raise in its own test
        walk.failure = failure
    return walk


class Noting:
    """A pytest-alembic runner that notes each step of the walk in a Walk."""

    def __init__(self, runner: "MigrationContext", walk: Walk):
        self.runner, self.walk = runner, walk
        self.engine = cast(
            "Engine | AsyncEngine", runner.connection_executor.connection
        )
        self.texts = self.engine.dialect.name in SCHEMA_TEXTS

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runner, name)

    def migrate_up_to(self, revision: str, **options: Any) -> str | None:
        result = self.runner.migrate_up_to(revision, **options)
        if revision not in self.walk.up and self.texts:  # the first pass
            self.walk.up[revision] = self.schema_text()
        if revision == "heads" and not self.walk.reached_head:
            self.walk.reached_head = True
            try:  # where the database is as an upgrade from empty leaves it
                default.test_model_definitions_match_ddl(self.runner)
            except Exception as failure:  # its own, to raise in its own test
                self.walk.models_differ = failure
        return result

    def migrate_down_to(self, revision: str | None, **options: Any) -> str | None:
        result = self.runner.migrate_down_to(revision, **options)
        if self.texts and revision is not None:
            self.walk.down[revision] = self.schema_text()
        return result

    def schema_text(self) -> SchemaText:
        return on_connection(self.engine, schema_text) or []


def is_a_line(revision_map: "RevisionMap", revisions: list[str]) -> bool:
    """Whether each revision follows the one before it, and only that one."""
    below: list[str | None] = [None, *revisions]  # one longer: zip stops first
    return all(
        revision_map.get_revision(revision).down_revision == down  # type: ignore[union-attr]
        for revision, down in zip(revisions, below, strict=False)
    )


def schema_text(connection: Connection) -> SchemaText | None:
    """The schema as text (SCHEMA_TEXTS); None on a database without one."""
    query = SCHEMA_TEXTS.get(connection.dialect.name)
    if query is None:
        return None
    return [tuple(row) for row in connection.exec_driver_sql(query)]


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

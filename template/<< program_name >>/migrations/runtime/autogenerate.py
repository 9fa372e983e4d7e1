"""The template's runtime: how `alembic revision --autogenerate` writes revisions.

No file when nothing changed, and revisions that run on every database, whichever
one they were generated on.
"""

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from alembic.autogenerate.rewriter import Rewriter
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext

log = logging.getLogger("alembic.env")
portable = Rewriter()


def skip_empty(context: MigrationContext, revision: Any, directives: list[Any]) -> None:
    """Write no file when `alembic revision --autogenerate` finds no model change."""
    # cmd_opts is None when command.revision() is called from Python.
    if not getattr(context.config and context.config.cmd_opts, "autogenerate", False):
        return
    if directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("No changes in the models; no revision file written.")


# MySQL and MariaDB keep a unique constraint as a unique index, so autogenerate
# drops or re-creates one as an index there, which SQLite (the tests' default
# database) refuses for a constraint. Named uq_... by the models' naming
# convention, it is a constraint: written as one, it runs everywhere.


def is_a_unique_constraint_on_mysql(context: MigrationContext, name: object) -> bool:
    return context.dialect.name in ("mysql", "mariadb") and str(name).startswith("uq_")


@portable.rewrites(ops.DropIndexOp)
def drop_unique_constraint(
    context: MigrationContext, revision: Any, op: ops.DropIndexOp
) -> ops.MigrateOperation:
    name, table = op.index_name, op.table_name
    if (
        name is None
        or table is None
        or not is_a_unique_constraint_on_mysql(context, name)
    ):
        return op
    return ops.DropConstraintOp(name, table, type_="unique", schema=op.schema)


@portable.rewrites(ops.CreateIndexOp)
def create_unique_constraint(
    context: MigrationContext, revision: Any, op: ops.CreateIndexOp
) -> ops.MigrateOperation:
    if not (op.unique and is_a_unique_constraint_on_mysql(context, op.index_name)):
        return op
    columns = [str(getattr(column, "name", column)) for column in op.columns]
    return ops.CreateUniqueConstraintOp(
        op.index_name, op.table_name, columns, schema=op.schema
    )


def indexes_go_with_their_table(
    context: MigrationContext, revision: Any, directives: list[Any]
) -> None:
    """A table that is dropped drops its indexes: autogenerate drops them first,
    one by one, which MySQL and MariaDB refuse for an index a foreign key of the
    table needs (error 1553). The table's drop alone runs everywhere."""
    for script in directives:
        for operations in (*script.upgrade_ops_list, *script.downgrade_ops_list):
            operations.ops = without_index_drops_of_dropped_tables(operations.ops)


def without_index_drops_of_dropped_tables(
    operations: list[ops.MigrateOperation],
) -> list[ops.MigrateOperation]:
    dropped = {
        (op.schema, op.table_name)
        for op in operations
        if isinstance(op, ops.DropTableOp)
    }
    kept: list[ops.MigrateOperation] = []
    for op in operations:
        if isinstance(op, ops.ModifyTableOps) and (op.schema, op.table_name) in dropped:
            op.ops = [each for each in op.ops if not isinstance(each, ops.DropIndexOp)]
            if not op.ops:
                continue
        elif isinstance(op, ops.DropIndexOp) and (op.schema, op.table_name) in dropped:
            continue
        kept.append(op)
    return kept


def imports_for_their_types(
    context: MigrationContext, revision: Any, directives: list[Any]
) -> None:
    """A column type from outside SQLAlchemy (SQLModel's AutoString, a library's
    or your own) is written with its module's full name: the revision imports its
    package, which Alembic leaves out."""
    for script in directives:
        for operations in (*script.upgrade_ops_list, *script.downgrade_ops_list):
            for type_ in column_types(operations.ops):
                package = type(type_).__module__.split(".")[0]
                if package not in ("sqlalchemy", "builtins"):
                    script.imports.add(f"import {package}")


def column_types(operations: list[Any]) -> Iterator[Any]:
    for op in operations:
        if isinstance(op, ops.OpContainer):
            yield from column_types(op.ops)
        elif isinstance(op, ops.CreateTableOp):
            yield from (column.type for column in op.columns if hasattr(column, "type"))
        elif isinstance(op, ops.AddColumnOp):
            yield op.column.type
        elif isinstance(op, ops.AlterColumnOp) and op.modify_type is not None:
            yield op.modify_type


def with_postgresql_enums() -> None:
    """On PostgreSQL, alembic-postgresql-enum writes what Alembic leaves out: an
    enum type created before its table and dropped after it, and values added,
    removed or renamed (op.add_enum_value(), op.sync_enum_values(), which the
    revisions it writes then need, online and in --sql output). Imported, it joins
    autogenerate. A project from before it was a dependency goes without."""
    with contextlib.suppress(ImportError):
        import alembic_postgresql_enum  # noqa: F401


process_revision_directives = (
    portable.chain(skip_empty)
    .chain(indexes_go_with_their_table)
    .chain(imports_for_their_types)
)

"""The revisions the guide shows for what autogenerate cannot write (expand, then
contract; a backfill in batches), taken from the rendered guide as a user copies
them: on SQLite and on each server they go up, down and up again, keep every
account's name, and print as SQL with `--sql`."""

import re

import pytest
from helpers import BACKENDS, SEED_ACCOUNTS, SEEDED_ROWS

HEADER = '''"""{title}

Revision ID: {revision}
Revises: {down_revision}
"""

import sqlalchemy as sa
from alembic import context, op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


'''
# The guide's blocks, by their first line.
EXPAND, CONTRACT, EXPAND_IN_BATCHES, RENAME = (
    "# Deploy 1, expand: the new column",
    "# Deploy 2, contract",
    "# Deploy 1, expand, on a large table",
    "# Rename in place",
)


def recipes(project) -> dict[str, str]:
    guide = (project.path / "docs" / "migrations.md").read_text()
    blocks = re.findall(r"```python\n(# (?:Deploy|Rename).*?)```", guide, flags=re.DOTALL)
    return {
        first: block
        for block in blocks
        for first in (EXPAND, CONTRACT, EXPAND_IN_BATCHES, RENAME)
        if block.startswith(first)
    }


def add_recipes(project, tmp_path, *firsts: str) -> None:
    """The guide's blocks as revisions, in this order, after the seed."""
    blocks = recipes(project)
    down_revision = SEED_ACCOUNTS
    for number, first in enumerate(firsts, start=1):
        revision = f"{number}ec1be000000"
        source = HEADER.format(title=first[2:], revision=revision, down_revision=down_revision)
        path = tmp_path / f"{revision}_recipe.py"
        path.write_text(source + blocks[first])
        project.add_revision(path)
        down_revision = revision
    project.record_head()


@pytest.mark.parametrize("expand", [EXPAND, EXPAND_IN_BATCHES], ids=["at-once", "in-batches"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_guides_expand_and_contract_run_everywhere(project_on, tmp_path, backend, expand):
    project, database = project_on(backend)
    add_recipes(project, tmp_path, expand, CONTRACT)
    names = [name for _, name, _ in SEEDED_ROWS]

    sql = project.alembic("upgrade", "head", "--sql").stdout
    assert "UPDATE account SET full_name" in sql or "account.full_name is filled" in sql, sql
    project.alembic("upgrade", "head")
    assert [
        name for (name,) in database.execute("SELECT full_name FROM account ORDER BY id")
    ] == names
    project.alembic("downgrade", SEED_ACCOUNTS)
    assert [name for _, name, _ in database.accounts()] == names
    project.alembic("upgrade", "head")
    assert "name" not in {column for (column,) in database.execute(COLUMNS[backend])}


COLUMNS = {
    "sqlite": "SELECT name FROM pragma_table_info('account')",
    "postgresql": "SELECT column_name FROM information_schema.columns WHERE table_name = 'account'",
    "mysql": "SELECT column_name FROM information_schema.columns "
    "WHERE table_name = 'account' AND table_schema = DATABASE()",
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_guides_rename_keeps_rows_and_index_everywhere(project_on, tmp_path, backend):
    """Up, down and up again with the rows in place; as SQL where the database can
    be altered without being read (SQLite's batch copies the table it reads)."""
    project, database = project_on(backend)
    add_recipes(project, tmp_path, RENAME)
    names = [name for _, name, _ in SEEDED_ROWS]

    if backend != "sqlite":
        assert "display_name" in project.alembic("upgrade", "head", "--sql").stdout
    project.alembic("upgrade", "head")
    renamed = database.execute("SELECT display_name FROM account ORDER BY id")
    assert [name for (name,) in renamed] == names
    assert database.index_is_valid("account", "ix_account_display_name")
    project.alembic("downgrade", SEED_ACCOUNTS)
    assert [name for _, name, _ in database.accounts()] == names
    project.alembic("upgrade", "head")

"""The rendered suite's checks, made cheaper, still fail on a revision that breaks
them, wherever it stands in a long history (issue 23: nothing weaker).

test_downgrade_leaves_no_trace compares SQLite's schema text before an upgrade
and after its downgrade, and falls back to pytest-alembic's own comparison when
the text differs: a downgrade that leaves an index behind fails it at the start,
the middle and the end of the history, with pytest-alembic's message; one that
rebuilds its table (new text, same schema) passes, as it did before."""

import pytest
from helpers import OWN_SUITE, own_suite_outcomes
from long_history import add_tables

TABLES = 30
POSITIONS = {"start": 0, "middle": TABLES // 2, "end": TABLES}
REVISION = "e00000000001"

LEAVES_ITS_INDEX = '''"""Index account by name; the downgrade forgets the index."""

from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_account_name", "account", ["name"])


def downgrade() -> None:
    pass
'''

REBUILDS_ITS_TABLE = '''"""Give accounts a nickname; SQLite drops it by rebuilding the table."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account", sa.Column("nickname", sa.String(50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.drop_column("nickname")
'''

ACCOUNT_NAME = "    name: Mapped[str] = mapped_column(String(50))\n"
MODEL_CHANGES = {
    LEAVES_ITS_INDEX: "    name: Mapped[str] = mapped_column(String(50), index=True)\n",
    REBUILDS_ITS_TABLE: ACCOUNT_NAME
    + "    nickname: Mapped[str | None] = mapped_column(String(50))\n",
}


def history_with(project, revision_text: str, position: str) -> dict[str, str]:
    """The project's suite, on the shipped revisions, then TABLES tables with the
    given revision among them at `position`: its outcomes and output."""
    package = project.path / project.program_name
    before = add_tables(package, range(1, POSITIONS[position] + 1))
    revision = package / "migrations" / "versions" / f"2026_12_03_0000-{REVISION}_account.py"
    revision.write_text(revision_text.format(revision=REVISION, down_revision=before))
    add_tables(package, range(POSITIONS[position] + 1, TABLES + 1), after=REVISION)
    models = package / "models.py"
    assert ACCOUNT_NAME in models.read_text()
    models.write_text(models.read_text().replace(ACCOUNT_NAME, MODEL_CHANGES[revision_text], 1))
    project.record_head()
    result = project.python(*OWN_SUITE, "-v", check=False)
    return own_suite_outcomes(result.stdout), result.stdout


@pytest.mark.parametrize("position", POSITIONS)
def test_a_downgrade_that_leaves_a_trace_fails_wherever_it_stands(project, position):
    outcomes, output = history_with(project(), LEAVES_ITS_INDEX, position)
    failed = {test for test, outcome in outcomes.items() if outcome != "PASSED"}
    assert failed == {"tests/test_migrations.py::test_downgrade_leaves_no_trace"}, output
    assert f"There is a difference between the pre-'{REVISION}'-upgrade" in output
    assert "op.create_index('ix_account_name'" in output


def test_a_downgrade_that_rebuilds_its_table_leaves_no_trace(project):
    outcomes, output = history_with(project(), REBUILDS_ITS_TABLE, "middle")
    assert set(outcomes.values()) == {"PASSED"}, output

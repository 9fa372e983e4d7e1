"""The rendered suite's checks still fail on a revision that breaks them, wherever
it stands in a long history (issue 23: nothing weaker), with pytest-alembic's
messages: the ground that any faster way of checking must keep.

test_downgrade_leaves_no_trace compares SQLite's schema text before an upgrade
and after its downgrade, and falls back to pytest-alembic's own comparison when
the text differs: a downgrade that leaves an index behind fails it; one that
rebuilds its table (new text, same schema) passes, as it did before."""

import pytest
from helpers import OWN_SUITE, function_of, own_suite_outcomes
from long_history import add_tables

TABLES = 20
POSITIONS = {"start": 0, "middle": TABLES // 2, "end": TABLES}
REVISION = "e00000000001"

REVISION_FILE = '''"""A revision on the account table."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    {upgrade}


def downgrade() -> None:
    {downgrade}
'''
INDEX = 'op.create_index("ix_account_name", "account", ["name"])'
UNINDEX = 'op.drop_index("ix_account_name", table_name="account")'

ACCOUNT_NAME = "    name: Mapped[str] = mapped_column(String(50))\n"
INDEXED_NAME = "    name: Mapped[str] = mapped_column(String(50), index=True)\n"
NICKNAME = "    nickname: Mapped[str | None] = mapped_column(String(50))\n"

# A revision that breaks checks: its upgrade and downgrade, the models' account
# name after it, the tests that fail, and words of their messages.
BREAKS = {
    "leaves-its-index": (
        INDEX,
        "pass",
        INDEXED_NAME,
        {"test_downgrade_leaves_no_trace"},
        (f"There is a difference between the pre-'{REVISION}'-upgrade",),
    ),
    "cannot-downgrade": (
        INDEX,
        'op.drop_index("ix_account_no_such_index", table_name="account")',
        INDEXED_NAME,
        {"test_up_down_consistency", "test_downgrade_leaves_no_trace"},
        ("Failed to downgrade through each revision individually.", REVISION),
    ),
    "cannot-upgrade": (
        'op.create_index("ix_account_nickname", "account", ["nickname"])',
        'op.drop_index("ix_account_nickname", table_name="account")',
        ACCOUNT_NAME,
        {
            "test_upgrade",
            "test_up_down_consistency",
            "test_model_definitions_match_ddl",
            "test_downgrade_leaves_no_trace",
        },
        ("no such column: nickname", f"{REVISION}_account.py"),
    ),
    "models-differ": (
        INDEX,
        UNINDEX,
        ACCOUNT_NAME,
        {"test_model_definitions_match_ddl"},
        ("The models describing the DDL of your database are out of sync", "ix_account_name"),
    ),
}


def suite_with(project, position: str, upgrade: str, downgrade: str, name: str):
    """The project's suite, on the shipped revisions, then TABLES tables with one
    revision of the account table among them at `position`, and the models'
    account name as given: its outcomes and output."""
    package = project.path / project.program_name
    before = add_tables(package, range(1, POSITIONS[position] + 1))
    revision = package / "migrations" / "versions" / f"2026_12_03_0000-{REVISION}_account.py"
    revision.write_text(
        REVISION_FILE.format(
            revision=REVISION, down_revision=before, upgrade=upgrade, downgrade=downgrade
        )
    )
    add_tables(package, range(POSITIONS[position] + 1, TABLES + 1), after=REVISION)
    models = package / "models.py"
    assert ACCOUNT_NAME in models.read_text()
    models.write_text(models.read_text().replace(ACCOUNT_NAME, name, 1))
    project.record_head()
    result = project.python(*OWN_SUITE, "-v", check=False)
    return own_suite_outcomes(result.stdout), result.stdout


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("breaker", BREAKS)
def test_a_revision_that_breaks_a_check_fails_it_wherever_it_stands(project, breaker, position):
    upgrade, downgrade, name, failing, words = BREAKS[breaker]
    outcomes, output = suite_with(project(), position, upgrade, downgrade, name)
    failed = {function_of(test) for test, outcome in outcomes.items() if outcome != "PASSED"}
    assert failed == failing, output
    assert all(word in output for word in words), output


def test_a_downgrade_that_rebuilds_its_table_leaves_no_trace(project):
    """SQLite drops a column by rebuilding the table: the schema's text changes,
    and pytest-alembic's comparison finds nothing left."""
    add = 'op.add_column("account", sa.Column("nickname", sa.String(50)))'
    drop = 'with op.batch_alter_table("account") as batch:\n        batch.drop_column("nickname")'
    outcomes, output = suite_with(project(), "middle", add, drop, ACCOUNT_NAME + NICKNAME)
    assert set(outcomes.values()) == {"PASSED"}, output

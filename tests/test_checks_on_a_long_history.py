"""The rendered suite's checks still fail on a revision that breaks them, wherever
it stands in a long history (issue 23: nothing weaker), with pytest-alembic's
messages: the ground that any faster way of checking must keep.

The checks share one walk up and down the history (runtime/checks.py):
test_downgrade_leaves_no_trace reads SQLite's schema text from it, and falls back
to pytest-alembic's own comparison where the text differs: a downgrade that leaves
an index behind fails it; one that rebuilds its table (new text, same schema)
passes, as it did before; a history with a merge in it gets the full check."""

import pytest
from helpers import OWN_SUITE, SEED_ACCOUNTS, function_of, own_suite_outcomes
from long_history import add_tables, table_revision

TABLES = 20
POSITIONS = {"start": 0, "middle": TABLES // 2, "end": TABLES}
REVISION = "e00000000001"
# Where a second line of revisions may start: below a revision of the first.
BRANCH_POINTS = {
    "start": SEED_ACCOUNTS,
    "middle": table_revision(TABLES // 2),
    "end": table_revision(TABLES - 1),
}

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


def suite_with(
    project,
    position: str,
    upgrade: str,
    downgrade: str,
    name: str,
    *tests: str,
    record=True,
    env=None,
):
    """The project's suite, on the shipped revisions, then TABLES tables with one
    revision of the account table among them at `position`, and the models'
    account name as given: its outcomes and output; only the tests named, if any
    are. Without `record`, head.txt is left as it was before the revisions were
    written."""
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
    if record:
        project.record_head()
    selected = [f"tests/test_migrations.py::{test}" for test in tests]
    result = project.python(*OWN_SUITE, "-v", *selected, check=False, env=env)
    return own_suite_outcomes(result.stdout), result.stdout + result.stderr


def failed(outcomes: dict[str, str]) -> set[str]:
    return {function_of(test) for test, outcome in outcomes.items() if outcome != "PASSED"}


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("breaker", BREAKS)
def test_a_revision_that_breaks_a_check_fails_it_wherever_it_stands(project, breaker, position):
    upgrade, downgrade, name, failing, words = BREAKS[breaker]
    outcomes, output = suite_with(project(), position, upgrade, downgrade, name)
    assert failed(outcomes) == failing, output
    assert all(word in output for word in words), output


# Each check the walk serves, run on its own (pytest -k, --lf, a worker of
# xdist): the walk runs inside it, and it must still fail its breaking revision.
ALONE = {
    "test_downgrade_leaves_no_trace": "leaves-its-index",
    "test_upgrade": "cannot-upgrade",
    "test_model_definitions_match_ddl": "models-differ",
    "test_up_down_consistency": "cannot-downgrade",
}


@pytest.mark.parametrize("test", ALONE)
def test_a_check_run_on_its_own_still_fails_its_breaking_revision(project, test):
    upgrade, downgrade, name, _, words = BREAKS[ALONE[test]]
    outcomes, output = suite_with(project(), "middle", upgrade, downgrade, name, test)
    assert outcomes == {f"tests/test_migrations.py::{test}": "FAILED"}, output
    assert all(word in output for word in words), output


def test_a_downgrade_that_rebuilds_its_table_leaves_no_trace(project):
    """SQLite drops a column by rebuilding the table: the schema's text changes,
    and pytest-alembic's comparison finds nothing left."""
    add = 'op.add_column("account", sa.Column("nickname", sa.String(50)))'
    drop = 'with op.batch_alter_table("account") as batch:\n        batch.drop_column("nickname")'
    outcomes, output = suite_with(project(), "middle", add, drop, ACCOUNT_NAME + NICKNAME)
    assert set(outcomes.values()) == {"PASSED"}, output


@pytest.mark.parametrize("position", POSITIONS)
def test_a_second_head_fails_the_one_head_check_wherever_it_branches(project, position):
    """A revision that branches off where another already follows: two heads."""
    made = project()
    package = made.path / made.program_name
    add_tables(package, range(1, TABLES + 1))
    made.record_head()
    down = BRANCH_POINTS[position]
    second = package / "migrations" / "versions" / f"2026_12_03_0000-{REVISION}_account.py"
    second.write_text(
        REVISION_FILE.format(
            revision=REVISION, down_revision=down, upgrade=INDEX, downgrade=UNINDEX
        )
    )
    models = package / "models.py"
    models.write_text(models.read_text().replace(ACCOUNT_NAME, INDEXED_NAME, 1))
    result = made.python(*OWN_SUITE, "-v", check=False)
    outcomes = own_suite_outcomes(result.stdout)
    # pytest-alembic's no-trace check steps across the two lines, and fails too.
    assert failed(outcomes) == {
        "test_single_head_revision",
        "test_downgrade_leaves_no_trace",
        "test_the_head_record_is_current",
    }, result.stdout
    assert "Expected 1 head revision, found 2" in result.stdout, result.stdout
    assert f"the history has 2 heads: {table_revision(TABLES)}, {REVISION}" in result.stdout


@pytest.mark.parametrize("position", POSITIONS)
def test_a_downgrade_that_leaves_a_trace_in_a_merged_history_fails(project, position):
    """After a merge, the history is no line: the walk cannot vouch, and
    pytest-alembic's comparison runs in full."""
    made = project()
    package = made.path / made.program_name
    versions = package / "migrations" / "versions"
    top = add_tables(package, range(1, TABLES + 1))
    down = BRANCH_POINTS[position]
    (versions / f"2026_12_03_0000-{REVISION}_account.py").write_text(
        REVISION_FILE.format(revision=REVISION, down_revision=down, upgrade=INDEX, downgrade="pass")
    )
    merge = "e00000000002"
    (versions / f"2026_12_03_0001-{merge}_merge.py").write_text(
        REVISION_FILE.format(
            revision=merge, down_revision=top, upgrade="pass", downgrade="pass"
        ).replace(f'down_revision = "{top}"', f'down_revision = ("{top}", "{REVISION}")')
    )
    models = package / "models.py"
    models.write_text(models.read_text().replace(ACCOUNT_NAME, INDEXED_NAME, 1))
    made.record_head()
    result = made.python(*OWN_SUITE, "-v", check=False)
    assert failed(own_suite_outcomes(result.stdout)) == {"test_downgrade_leaves_no_trace"}, (
        result.stdout
    )
    assert f"There is a difference between the pre-'{REVISION}'-upgrade" in result.stdout


NOTE_TABLE = 'op.create_table("note", sa.Column("id", sa.Integer(), primary_key=True))'
NOTE_MODEL = """from sqlalchemy.orm import Mapped, mapped_column

from {package}.models import Base


class Note(Base):
    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
"""


@pytest.mark.parametrize("position", POSITIONS)
def test_a_model_that_nothing_imports_fails_its_check(project, position):
    """The revision creates a table whose model is in a module that models.py
    does not import: env.py never sees it, and autogenerate would drop it."""
    made = project()
    (made.path / made.program_name / "notes.py").write_text(
        NOTE_MODEL.format(package=made.program_name)
    )
    drop = 'op.drop_table("note")'
    outcomes, output = suite_with(made, position, NOTE_TABLE, drop, ACCOUNT_NAME)
    assert failed(outcomes) == {
        "test_all_models_register_on_metadata",
        "test_model_definitions_match_ddl",
    }, output
    assert "Tables that env.py does not see: ['note']" in output, output


@pytest.mark.parametrize("position", POSITIONS)
def test_a_revision_written_without_its_record_fails_the_head_record(project, position):
    """After a head of the project's own is recorded (the template's record passes
    as it is), revisions written by hand and not recorded."""
    made = project()
    made.record_head()
    outcomes, output = suite_with(made, position, INDEX, UNINDEX, INDEXED_NAME, record=False)
    assert failed(outcomes) == {"test_the_head_record_is_current"}, output
    assert "record`, and commit head.txt" in output, output


def test_a_changed_seed_fails_its_tests_under_a_long_history(project):
    """The seed revision is the second of every history: a long one after it
    changes nothing of what its tests see."""
    made = project()
    seed = next(
        (made.path / made.program_name / "migrations" / "versions").glob(f"*{SEED_ACCOUNTS}*")
    )
    seed.write_text(seed.read_text().replace('"Wendy Jones"', '"Wendy Smith"'))
    outcomes, output = suite_with(made, "end", INDEX, UNINDEX, INDEXED_NAME)
    assert failed(outcomes) == {"test_upgrade_seeds_the_example_accounts"}, output
    assert "Wendy Smith" in output, output


LIVE_INDEX = 'op.create_index("ix_account_name", "account", ["name"])'


@pytest.mark.parametrize("position", POSITIONS)
def test_a_revision_that_locks_a_live_table_fails_the_lint(project, server_database, position):
    """squawk, on a PostgreSQL project: an index built on a live table without
    CONCURRENTLY blocks its writes."""
    made = project(database="postgresql")
    env = {made.test_url_env: made.url_for(server_database("postgresql"))}
    outcomes, output = suite_with(made, position, LIVE_INDEX, UNINDEX, INDEXED_NAME, env=env)
    assert failed(outcomes) == {"test_revision_is_safe_on_a_live_database"}, output
    assert f"[2026_12_03_0000-{REVISION}_account.py] FAILED" in output, output
    assert "require-concurrent-index-creation" in output, output


CONCURRENT_INDEX = """with op.get_context().autocommit_block():
        op.create_index(
            "ix_account_name", "account", ["name"], postgresql_concurrently=True
        )"""


@pytest.mark.parametrize("position", POSITIONS)
def test_a_concurrent_index_left_behind_fails_on_postgresql(project, server_database, position):
    """No trial transaction can hold CREATE INDEX CONCURRENTLY, so pytest-alembic's
    check cannot run there; the walk, which ran outside one, names the revision."""
    made = project(database="postgresql")
    env = {made.test_url_env: made.url_for(server_database("postgresql"))}
    outcomes, output = suite_with(made, position, CONCURRENT_INDEX, "pass", INDEXED_NAME, env=env)
    assert failed(outcomes) == {"test_downgrade_leaves_no_trace"}, output
    assert f"The downgrade of {REVISION} leaves the schema otherwise" in output, output
    assert "CREATE INDEX ix_account_name ON public.account" in output, output


NULLABLE_NAME = """with op.batch_alter_table("account") as batch:
        batch.alter_column("name", existing_type=sa.String(50), nullable={nullable})"""


def test_a_downgrade_that_fails_only_on_its_upgrades_rows_fails_the_no_trace_check(project):
    """The first revision adds a row its downgrade cannot keep; the second fills it
    in, and its downgrade leaves it filled. Walking down, the first downgrade meets
    the filled row and passes; pytest-alembic's trial of it meets its own row, and
    fails. The walk's notes hold the rows too, so the full check runs."""
    made = project()
    package = made.path / made.program_name
    versions = package / "migrations" / "versions"
    before = add_tables(package, range(1, TABLES // 2 + 1))
    nullable, not_null = (NULLABLE_NAME.format(nullable=value) for value in (True, False))
    second = "e00000000002"
    revisions = {
        REVISION: (
            before,
            f'{nullable}\n    op.execute("INSERT INTO account (name) VALUES (NULL)")',
            not_null,
        ),
        second: (
            REVISION,
            f"op.execute(\"UPDATE account SET name = '' WHERE name IS NULL\")\n    {not_null}",
            nullable,
        ),
    }
    for number, (revision, (down, upgrade, downgrade)) in enumerate(revisions.items()):
        (versions / f"2026_12_03_000{number}-{revision}_account.py").write_text(
            REVISION_FILE.format(
                revision=revision, down_revision=down, upgrade=upgrade, downgrade=downgrade
            )
        )
    add_tables(package, range(TABLES // 2 + 1, TABLES + 1), after=second)
    made.record_head()
    result = made.python(*OWN_SUITE, "-v", check=False)
    assert failed(own_suite_outcomes(result.stdout)) == {"test_downgrade_leaves_no_trace"}, (
        result.stdout
    )
    assert "NOT NULL constraint failed: _alembic_tmp_account.name" in result.stdout

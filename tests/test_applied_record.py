"""Every database knows what it ran: a revision that lands below a database's head
(a merge put in line the wrong way, a down_revision edited by hand) is run there,
never skipped; one edited after it ran stops the upgrade until accepted. The real
git, `alembic` and upgrade(), on SQLite, PostgreSQL and MariaDB, sync and async."""

import subprocess

import pytest
from helpers import (
    BACKENDS,
    ENGINE_VARIANTS,
    REVISIONS,
    SEED_ACCOUNTS,
    answers_id,
    git,
    git_commit_all,
)
from test_reliability import replicas_start_together

MAIN = REVISIONS / "a1a1a1a1a1a1_add_account_email.py"  # main's, run on staging
FEATURE = REVISIONS / "e0e0e0e0e0e0_create_audit_log.py"  # the feature branch's
HISTORY = ["-m", "my_program.migrations.history"]
EVERY_DATABASE = [
    pytest.param(backend, engine, id=f"{backend}-{answers_id(engine)}")
    for backend in BACKENDS
    for engine in ENGINE_VARIANTS
]


def put_feature_below_main(project) -> None:
    """What a merge put in line the wrong way does: main's revision, which staging
    ran, now follows the feature's. Here by hand, as anyone may."""
    project.add_revision(FEATURE)
    (main,) = project.versions.glob("a1a1a1a1a1a1_*.py")
    main.write_text(main.read_text().replace(f'"{SEED_ACCOUNTS}"', '"e0e0e0e0e0e0"'))
    project.record_head()


@pytest.mark.parametrize(
    ("backend", "engine", "merged"),
    [
        pytest.param("sqlite", {}, "feature into main", id="sqlite-feature-into-main"),
        *(
            pytest.param(*each.values, "main into feature", id=f"{each.id}-main-into-feature")
            for each in EVERY_DATABASE
        ),
    ],
)
def test_a_merge_put_in_line_by_history_rebase_leaves_nothing_unrun(
    project_on, backend, engine, merged
):
    """Main adds a revision and staging runs it; a feature branch adds one after the
    same revision. Merged either way and put in line by `history rebase`, staging's
    next upgrade runs the feature's revision: after main's when the feature was
    merged into main (the way the README says), out of order when main was merged
    into the feature (main's revision moved). A downgrade first stops, naming it."""
    project, database = project_on(backend, **engine)
    git("init", "--quiet", "--initial-branch", "main", cwd=project.path)
    git_commit_all(project.path, "the project")
    git("checkout", "--quiet", "-b", "feature", cwd=project.path)
    project.add_revision(FEATURE)
    project.record_head()
    git_commit_all(project.path, "feature: a revision")
    git("checkout", "--quiet", "main", cwd=project.path)
    project.add_revision(MAIN)
    project.record_head()
    git_commit_all(project.path, "main: a revision")
    project.alembic("upgrade", "head")  # staging

    into, other = ("main", "feature") if merged == "feature into main" else ("feature", "main")
    git("checkout", "--quiet", into, cwd=project.path)
    meeting = subprocess.run(["git", "merge", other], cwd=project.path, capture_output=True)
    assert meeting.returncode != 0, "git must stop at the conflict in head.txt"
    moved = project.python(*HISTORY, "rebase").stdout
    if merged == "feature into main":
        assert "e0e0e0e0e0e0 now follows a1a1a1a1a1a1" in moved
        project.alembic("upgrade", "head")
        assert database.applied()["e0e0e0e0e0e0"] == "upgrade"
    else:
        assert "a1a1a1a1a1a1 now follows e0e0e0e0e0e0" in moved
        assert project.alembic("current").stdout.split() == ["a1a1a1a1a1a1", "(head)"]
        refused = project.alembic("downgrade", "-1", check=False)
        assert refused.returncode != 0
        assert refused.stdout.strip() == (
            "FAILED: Revision e0e0e0e0e0e0 (e0e0e0e0e0e0_create_audit_log.py) never ran "
            "on this database, though it is below the database's head a1a1a1a1a1a1: its "
            "place in the history changed after that ran here. Upgrade first (which runs "
            "it), then downgrade."
        )
        project.program("upgrade")
        assert database.applied()["e0e0e0e0e0e0"] == "out of order"
    assert "audit_log" in database.tables()
    assert database.version() == project.alembic("heads").stdout.split()[0]
    listed = project.python(*HISTORY, "applied").stdout
    assert "never" not in listed and "changed" not in listed, listed


@pytest.mark.parametrize(("backend", "engine"), EVERY_DATABASE)
def test_replicas_starting_together_after_a_hand_edit_run_the_missed_revision_once(
    project_on, tmp_path, backend, engine
):
    """Staging ran main's revision; then someone puts the feature's revision below it
    by editing down_revision. Replicas starting together, with `alembic` and with
    upgrade(), all start; the revision runs once, out of order, and is recorded."""
    project, database = project_on(backend, **engine)
    project.add_revision(MAIN)
    project.record_head()
    project.alembic("upgrade", "head")
    put_feature_below_main(project)

    results = replicas_start_together(project, tmp_path, 4)

    for result in results:
        assert result.returncode == 0, result.stderr
    logs = "".join(result.stderr for result in results)
    ran = "Running Revision e0e0e0e0e0e0 (e0e0e0e0e0e0_create_audit_log.py) out of order"
    assert logs.count(ran) == 1, logs
    assert database.applied()["e0e0e0e0e0e0"] == "out of order"
    assert database.execute("SELECT count(*) FROM audit_log") == [(0,)]
    assert database.version() == "a1a1a1a1a1a1"


REFORMATTED = '''"""Add a column to the account table, written differently."""
from __future__ import annotations

import os  # unused: ruff --fix, which pre-commit runs, removes it
from alembic import op  # the imports in another order
import sqlalchemy as sa

revision = 'a1a1a1a1a1a1'
down_revision = '89feb189b99d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Its docstring, and comments, are not its code."""
    with op.batch_alter_table('account') as batch:
        batch.add_column(
            sa.Column('email', sa.String(200), nullable=True),  # a new comment
        )


def downgrade():  # no annotation
    with op.batch_alter_table("account") as batch:
        batch.drop_column("email")
'''


@pytest.mark.parametrize(("backend", "engine"), EVERY_DATABASE)
def test_an_applied_revision_edited_in_substance_stops_the_upgrade_until_accepted(
    project_on, backend, engine
):
    """Reformatted (quotes, line breaks, comments, docstrings, annotations, imports it
    does not use or in another order), a revision that ran is the same revision.
    Edited in substance, it stops `alembic upgrade` and upgrade() with one line
    naming it, what changed and the command that accepts it; once accepted,
    upgrades go on."""
    project, database = project_on(backend, **engine)
    revision = project.add_revision(MAIN)
    project.record_head()
    project.alembic("upgrade", "head")

    revision.write_text(REFORMATTED)
    project.alembic("upgrade", "head")
    assert "changed" not in project.python(*HISTORY, "applied").stdout

    revision.write_text(REFORMATTED.replace("String(200)", "String(300)"))
    expected = (
        "Revision a1a1a1a1a1a1 (a1a1a1a1a1a1_add_account_email.py) has changed since it "
        "ran on this database: upgrade() is not what ran. Review the change; if the "
        "database needs nothing more for it, `python -m my_program.migrations.history "
        "accept a1a1a1a1a1a1` records it as it is now."
    )
    cli = project.alembic("upgrade", "head", check=False)
    assert cli.returncode != 0
    assert cli.stdout.strip() == f"FAILED: {expected}"
    # upgrade() at head reads the database once and cannot see an edit; a new
    # revision sends it down the full path, which does.
    project.add_revision(FEATURE)
    (feature,) = project.versions.glob("e0e0e0e0e0e0_*.py")
    feature.write_text(feature.read_text().replace(f'"{SEED_ACCOUNTS}"', '"a1a1a1a1a1a1"'))
    project.record_head()
    api = project.program("upgrade", check=False)
    assert api.returncode != 0
    assert f"MigrationError: {expected}" in api.stderr
    assert "a1a1a1a1a1a1_add_account_email.py (upgrade() changed)" in (
        project.python(*HISTORY, "applied").stdout
    )

    accepted = project.python(*HISTORY, "accept", "a1a1a1a1a1a1")
    assert accepted.stdout == (
        "Revision a1a1a1a1a1a1 (a1a1a1a1a1a1_add_account_email.py): accepted as it is now.\n"
    )
    project.program("upgrade")
    assert database.version() == "e0e0e0e0e0e0"
    assert "changed" not in project.python(*HISTORY, "applied").stdout
    unknown = project.python(*HISTORY, "accept", "0bad0bad", check=False)
    assert unknown.returncode != 0
    assert unknown.stderr.strip() == (
        "'0bad0bad' is no revision of the history: "
        "`python -m my_program.migrations.history applied` lists them."
    )


def run_sql(database, sql: str) -> None:
    """Offline SQL, as a DBA runs it (the transaction statements left to us)."""
    for statement in sql.split(";\n"):
        if statement.strip() and not statement.strip().startswith(("BEGIN", "COMMIT", "SET")):
            database.execute(statement.replace(":", "\\:"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_offline_sql_keeps_the_record_of_a_database_from_before_it(project_on, backend):
    """`alembic upgrade FROM:head --sql`, run by a DBA on a database from before the
    record, records what it runs; the next online run takes what was there before
    as run."""
    project, database = project_on(backend)
    project.alembic("upgrade", "head")
    database.execute("DROP TABLE alembic_version_applied")
    project.add_revision(FEATURE)
    project.record_head()

    run_sql(database, project.alembic("upgrade", f"{SEED_ACCOUNTS}:head", "--sql").stdout)
    assert database.version() == "e0e0e0e0e0e0"
    assert database.applied() == {"e0e0e0e0e0e0": "upgrade"}

    upgraded = project.alembic("upgrade", "head").stderr
    assert f"no record of the 2 revisions up to {SEED_ACCOUNTS}: took them as run" in upgraded
    assert database.applied() == {
        "6ed9f93df750": "taken as run",
        SEED_ACCOUNTS: "taken as run",
        "e0e0e0e0e0e0": "upgrade",
    }


def test_offline_sql_never_takes_a_revision_below_the_head_as_run(project_on):
    """A feature's database, at the feature's revision; main's revision, merged in,
    now sits below it. Offline SQL from the head has nothing to run, and records
    nothing it did not run: the next upgrade runs main's revision."""
    project, database = project_on("sqlite")
    project.add_revision(FEATURE)
    project.record_head()
    project.alembic("upgrade", "head")
    project.add_revision(MAIN)
    (feature,) = project.versions.glob("e0e0e0e0e0e0_*.py")
    feature.write_text(feature.read_text().replace(f'"{SEED_ACCOUNTS}"', '"a1a1a1a1a1a1"'))
    project.record_head()

    run_sql(database, project.alembic("upgrade", "e0e0e0e0e0e0:head", "--sql").stdout)
    project.alembic("upgrade", "head")
    assert database.applied()["a1a1a1a1a1a1"] == "out of order"


@pytest.mark.parametrize(("backend", "engine"), EVERY_DATABASE)
def test_a_database_from_before_the_record_is_taken_as_it_is_once(project_on, backend, engine):
    """A database at its head with no record (one from a release before it, or
    migrated by another tool): the next upgrade takes every revision up to its head
    as run, says so in one line, and runs the new one; the next says nothing."""
    project, database = project_on(backend, **engine)
    project.alembic("upgrade", "head")
    database.execute("DROP TABLE alembic_version_applied")
    project.add_revision(MAIN)
    project.record_head()

    listed = project.python(*HISTORY, "applied").stdout
    assert listed.count("before the record") == 2, listed
    accept = project.python(*HISTORY, "accept", SEED_ACCOUNTS, check=False)
    assert accept.stderr.strip() == (
        "This database keeps no record of its revisions yet: its next upgrade records "
        "each one as it is then. Nothing to accept."
    )

    upgraded = project.alembic("upgrade", "head").stderr
    taken = f"with no record of the 2 revisions up to {SEED_ACCOUNTS}: took them as run"
    assert f"The database is at {SEED_ACCOUNTS}, {taken}" in upgraded
    assert database.applied() == {
        "6ed9f93df750": "taken as run",
        SEED_ACCOUNTS: "taken as run",
        "a1a1a1a1a1a1": "upgrade",
    }
    again = project.alembic("upgrade", "head").stderr
    assert "no record" not in again


def test_a_database_downgraded_by_another_tool_follows_alembic_version(project_on):
    """Another tool took the database back a revision and left the record alone:
    the record follows alembic_version, and the revision runs again."""
    project, database = project_on("sqlite")
    project.add_revision(MAIN)
    project.record_head()
    project.alembic("upgrade", "head")
    database.execute("ALTER TABLE account DROP COLUMN email")
    database.execute(f"UPDATE alembic_version SET version_num = '{SEED_ACCOUNTS}'")

    project.alembic("upgrade", "head")
    assert database.applied()["a1a1a1a1a1a1"] == "upgrade"
    assert database.version() == "a1a1a1a1a1a1"


def test_a_revisions_time_leaves_out_the_wait_for_the_lock(project_on):
    """How long a revision took is its own time, not the lock's wait before it."""
    project, database = project_on("sqlite")
    with project.start(*project.program_command("hold_the_lock", 3)) as holder:
        assert holder.stdout.readline().strip() == "holding"
        project.alembic("upgrade", "head")  # waits for the holder, about 3 s
    (seconds,) = database.execute(
        "SELECT seconds FROM alembic_version_applied WHERE revision = '6ed9f93df750'"
    )[0]
    assert seconds < 1.5

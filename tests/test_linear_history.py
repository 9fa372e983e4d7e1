"""A linear history for teams: two branches that each add a revision meet as a git
conflict in migrations/head.txt, not as two heads in production; one command puts
them in line. The real git, `alembic` and the project's own tests."""

import subprocess

import pytest
from helpers import MODELS, OWN_SUITE, REVISIONS, SEED_ACCOUNTS, Database, git, git_commit_all

THEIRS, YOURS = "aaaa00000001", "bbbb00000001"
HISTORY = ["-m", "my_program.migrations.history"]


def two_branches(project) -> None:
    """main, then `theirs` and `yours`, each adding a revision after the seed."""
    git("init", "--quiet", "--initial-branch", "main", cwd=project.path)
    git_commit_all(project.path, "the project")
    for branch, revision in (("theirs", THEIRS), ("yours", YOURS)):
        git("checkout", "--quiet", "-b", branch, "main", cwd=project.path)
        project.alembic("revision", "-m", f"{branch} add", "--rev-id", revision)
        git_commit_all(project.path, f"{branch}: a revision")


def conflicted_files(project) -> list[str]:
    return git("diff", "--name-only", "--diff-filter=U", cwd=project.path).split()


@pytest.mark.parametrize("how", ["merge", "rebase"])
def test_two_branches_meet_as_a_conflict_and_one_command_puts_them_in_line(project, how):
    """The branch you are on keeps its history, and the one coming in follows it: on
    `yours`, `git merge theirs` moves theirs after yours; `git rebase theirs`,
    which replays yours onto theirs, moves yours after theirs."""
    project = project()
    two_branches(project)
    meeting = subprocess.run(
        ["git", how, "theirs"], cwd=project.path, capture_output=True, text=True
    )
    assert meeting.returncode != 0, "git must stop at the conflict"
    assert conflicted_files(project) == ["my_program/migrations/head.txt"]
    record = (project.path / "my_program" / "migrations" / "head.txt").read_text()
    assert "python -m my_program.migrations.history rebase" in record, "it says what to do"

    result = project.python(*HISTORY, "rebase")
    staying, moving = (YOURS, THEIRS) if how == "merge" else (THEIRS, YOURS)
    assert f"{moving} now follows {staying}" in result.stdout
    heads = project.alembic("heads").stdout.split()
    assert heads == [moving, "(head)"]
    (moved,) = project.versions.glob(f"*{moving}_*.py")
    assert f'down_revision: str | Sequence[str] | None = "{staying}"' in moved.read_text()
    assert f"Revises: {staying}" in moved.read_text()
    project.python(*HISTORY, "check")

    git("add", "--all", cwd=project.path)
    finish = ["commit", "--no-edit"] if how == "merge" else ["rebase", "--continue"]
    subprocess.run(
        ["git", *finish],
        cwd=project.path,
        env={**project.environment(), "GIT_EDITOR": "true"},
        check=True,
        capture_output=True,
    )
    project.alembic("upgrade", "head")
    assert Database.sqlite_file(project.default_database).version() == moving


def test_a_revision_written_by_hand_fails_the_projects_tests_until_recorded(project):
    """Once the project has recorded its own head (head.txt is the template's until
    then: a project updated from a release before it must not fail for it)."""
    project = project()
    project.record_head()
    project.add_revision(REVISIONS / "a1a1a1a1a1a1_add_account_email.py")
    own_test = [*OWN_SUITE, "-q", "tests/test_migrations.py", "-k", "head_record"]
    stale = project.python(*own_test, check=False)
    assert stale.returncode == 1
    assert "run `python -m my_program.migrations.history record`" in stale.stdout
    project.record_head()
    project.python(*own_test)


def test_an_unrecorded_revision_is_applied_at_start_up_never_skipped(project):
    """head.txt says the database is at head, but a revision file it does not know
    is on disk: upgrade() takes the full path, and applies it."""
    project = project()
    project.alembic("upgrade", "head")
    project.add_revision(REVISIONS / "a1a1a1a1a1a1_add_account_email.py")
    project.program("upgrade")
    database = Database.sqlite_file(project.default_database)
    assert database.version() == "a1a1a1a1a1a1"
    assert database.version() != SEED_ACCOUNTS


def test_the_history_command_runs_once_without_a_warning(project):
    """`python -m <package>.migrations.history` is a module of its own, not one the
    package imports: runpy would warn that it runs twice."""
    project = project()
    result = project.python("-W", "error", *HISTORY, "check")
    assert result.stderr == ""


def test_a_first_revision_and_check_print_no_warning_and_no_plugin_chatter(project):
    """A new user's first autogenerate, check and history commands show what
    happened, and nothing else: no RuntimeWarning, no plugin set-up lines."""
    project = project()
    project.alembic("upgrade", "head")
    project.add_models(MODELS / "post.py")
    outputs = [
        project.python("-W", "error", "-m", "alembic", "revision", "--autogenerate", "-m", "note"),
        project.python("-W", "error", "-m", "alembic", "upgrade", "head"),
        project.python("-W", "error", "-m", "alembic", "check"),
        project.python("-W", "error", *HISTORY, "check"),
        project.python("-W", "error", *HISTORY, "applied"),
    ]
    for result in outputs:
        output = result.stdout + result.stderr
        assert "Warning" not in output, output
        assert "alembic.runtime.plugins" not in output, output


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_history_can_start_from_no_revision(project_on, backend):
    """The first step of bringing a history in: `git rm` of the shipped revision and
    the example model. The versions directory stays, upgrade() and `alembic` have
    nothing to do, head.txt records the base, and the suite passes; then a first
    revision of the user's own starts the history."""
    project, database = project_on(backend, seed_data=False)
    git("init", "--quiet", cwd=project.path)
    git_commit_all(project.path, "the project")
    git("rm", "--quiet", *map(str, project.versions.glob("*.py")), cwd=project.path)
    source = project.models.read_text()
    project.models.write_text(source[: source.index("\n\nclass Account")] + "\n")
    git_commit_all(project.path, "no example")
    fresh_clone = project.path.parent / "clone"
    git("clone", "--quiet", str(project.path), str(fresh_clone), cwd=project.path.parent)
    assert (fresh_clone / "my_program" / "migrations" / "versions").is_dir()

    project.alembic("upgrade", "head")
    assert project.program("upgrade").returncode == 0
    project.python(*HISTORY, "record")
    assert project.python(*HISTORY, "check").returncode == 0
    outcomes = project.own_suite(skipped={"test_single_head_revision"})
    assert "test_upgrade" in {test.split("::")[-1] for test in outcomes}

    project.add_models(MODELS / "post.py")
    project.alembic("revision", "--autogenerate", "-m", "first of our own")
    project.alembic("upgrade", "head")
    assert "post" in database.tables()
    project.own_suite()

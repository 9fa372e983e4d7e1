"""Releases: what the template has shipped stays put; updating from the previous
release lands exactly where a fresh copy does; and a user's project from any release
or later commit updates to this one with its own suite green, no edit by hand."""

import filecmp
import hashlib
import os
import re
import subprocess

import pytest
import yaml
from helpers import (
    BIN,
    COPIER_YML,
    CREATE_ACCOUNT,
    MODELS,
    SEED_ACCOUNTS,
    SHIPPED_FILES,
    TEMPLATE_ROOT,
    Database,
    Project,
    git,
    git_commit_all,
    leftovers,
)

# Every revision the template has ever shipped, with the SHA-256 of its rendered
# file. Users' databases record these revision ids: never edit one, add a new one.
SHIPPED_REVISIONS = {
    SHIPPED_FILES[CREATE_ACCOUNT]: (
        "cefd963da0e088936abb17078603c3099fdfe4e43f789b49de7498ecb39b0e7e"
    ),
    SHIPPED_FILES[SEED_ACCOUNTS]: (
        "5390c36f21eed086b02f33a34ece5b755bfe1957cae3c79caf4b697a9128773d"
    ),
}


def test_shipped_revisions_never_change(rendered):
    versions = rendered(seed_data=True) / "my_program" / "migrations" / "versions"
    actual = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in versions.glob("*.py")
    }
    changed = {name for name in SHIPPED_REVISIONS if actual.get(name) != SHIPPED_REVISIONS[name]}
    assert not changed, f"shipped revisions are immutable, but these changed: {changed}"
    assert set(actual) == set(SHIPPED_REVISIONS), "record each new shipped revision here"


# Their checksums in the record of applied revisions: the same on every Python, and
# kept by any reformatting of the files, so no database ever sees them as changed.
SHIPPED_CHECKSUMS = {
    CREATE_ACCOUNT: "2:4baf509bfc6387e5/fbd243a7fa1b915f/25b5d4e59e8c105c",
    SEED_ACCOUNTS: "2:1a5b5954b865968c/c207d420f27f4cd3/14816619a8366e25",
}
CHECKSUMS = """
import sys
from pathlib import Path
from my_program.migrations.runtime.applied import checksum
for path in sorted(Path(sys.argv[1]).glob("*.py")):
    print(path.name.split("-")[1].split("_")[0], checksum(str(path)))
"""


@pytest.mark.parametrize("answers", [{}, {"database": "mysql", "async_engine": True}])
def test_shipped_revisions_checksums_never_change(rendered, answers):
    project = rendered(**answers)
    versions = project / "my_program" / "migrations" / "versions"
    printed = subprocess.run(
        [BIN / "python", "-c", CHECKSUMS, versions],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert dict(line.split() for line in printed.splitlines()) == SHIPPED_CHECKSUMS


def previous_release() -> str:
    """The newest commit titled "Release X.Y.Z" before HEAD (CONTRIBUTING.md).
    Commits, unlike tags, travel with every clone of the branch."""
    log = git("log", "--format=%H %s", "HEAD~1", cwd=TEMPLATE_ROOT)
    for line in log.splitlines():
        commit, subject = line.split(" ", 1)
        if re.fullmatch(r"Release \d+\.\d+\.\d+\S*", subject):
            return commit
    pytest.fail("no commit titled 'Release X.Y.Z' in the history before HEAD")


ANSWERS = ".copier-answers.yml"


def user_owned(copier_yml: dict) -> set[str]:
    """The user's files (_skip_if_exists): they keep what the release gave them."""
    return {
        name.replace("<< program_name >>", "my_program") for name in copier_yml["_skip_if_exists"]
    }


def tree(path, leaving_out: set[str]) -> set[str]:
    """A project's files, by relative path, but .git and those left out."""
    return {
        str(file.relative_to(path))
        for file in path.rglob("*")
        if file.is_file() and ".git" not in file.relative_to(path).parts
    } - leaving_out


RELEASE_ANSWER_SETS = [
    pytest.param([], id="defaults"),
    pytest.param(
        ["database=postgresql", "seed_data=false", "github_actions=false"], id="server-bare"
    ),
]


@pytest.mark.parametrize("data", RELEASE_ANSWER_SETS)
def test_update_from_the_previous_release_equals_a_fresh_copy(project, tmp_path, data):
    """The template's files land exactly as a fresh copy has them; the user's files,
    edited after the copy, are all still there as the user left them."""
    runner = project()  # for its private HOME and environment
    updated, fresh = tmp_path / "updated", tmp_path / "fresh"
    release = previous_release()
    # The files the release gave the user: a later rename must not lose them.
    released = user_owned(yaml.safe_load(git("show", f"{release}:copier.yml", cwd=TEMPLATE_ROOT)))
    copy = [BIN / "copier", "copy", "--defaults", "--quiet"]
    for answer in data:
        copy += ["--data", answer]
    runner.run(*copy, "--vcs-ref", release, TEMPLATE_ROOT, updated, cwd=tmp_path)
    for name in released:
        with (updated / name).open("a") as file:
            file.write("# The user's own line.\n")
    git("init", "--quiet", cwd=updated)
    git_commit_all(updated, "Copied, then made ours")

    runner.run(BIN / "copier", "update", "--defaults", "--quiet", "--vcs-ref", "HEAD", cwd=updated)
    runner.run(*copy, "--vcs-ref", "HEAD", TEMPLATE_ROOT, fresh, cwd=tmp_path)

    for name in released:
        assert (updated / name).is_file(), f"the update removed the user's {name}"
        assert "# The user's own line." in (updated / name).read_text()
    users = released | user_owned(COPIER_YML)
    assert tree(updated, users) == tree(fresh, users)
    differing = [
        name
        for name in tree(fresh, users | {ANSWERS})
        if not filecmp.cmp(updated / name, fresh / name, shallow=False)
    ]
    assert differing == [], "an update must land exactly where a fresh copy does"
    assert answers(updated) == answers(fresh)


def answers(project) -> dict:
    """The recorded answers, but _commit: for an uncommitted template, Copier makes a
    throwaway commit per render, so two renders of the same tree differ there."""
    recorded = yaml.safe_load((project / ANSWERS).read_text())
    recorded.pop("_commit")
    return recorded


def commits_since_the_first_release() -> list[str]:
    """The first release, and every later commit that changed what a project gets,
    oldest first. A commit that changed only the template's tests, or the README a
    project keeps as its own, renders as its parent did: it is left out."""
    log = git("log", "--reverse", "--format=%H %s", "HEAD", cwd=TEMPLATE_ROOT).splitlines()
    first = next(i for i, line in enumerate(log) if re.search(r" Release \d+\.\d+\.\d+$", line))
    commits, seen = [], set()
    for line in log[first:]:
        commit = line.split()[0]
        files = git("ls-tree", "-r", commit, "template", "copier.yml", cwd=TEMPLATE_ROOT)
        rendered = "\n".join(f for f in files.splitlines() if not f.endswith("/README.md.jinja"))
        if rendered not in seen:
            seen.add(rendered)
            commits.append(commit)
    return commits


COMMITS = commits_since_the_first_release()
# A server project on the asyncio engine, from the first commit that asked for one
# and from the newest.
ASYNC_COMMITS = [
    commit
    for commit in COMMITS
    if "async_engine:" in git("show", f"{commit}:copier.yml", cwd=TEMPLATE_ROOT)
]
ASYNC_SERVER = {"database": "postgresql", "async_engine": True, "seed_data": False}
UPDATE_CASES = [
    *(pytest.param(commit, {}, id=commit[:7]) for commit in COMMITS),
    *(
        pytest.param(commit, ASYNC_SERVER, id=f"{commit[:7]}-postgresql-async-noseed")
        for commit in (ASYNC_COMMITS[0], ASYNC_COMMITS[-1])
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("commit", "answers"), UPDATE_CASES)
def test_a_project_from_any_release_updates_with_its_own_suite_green(tmp_path, commit, answers):
    """A user copies the template at that commit, adds a model and its revision, migrates
    their database, edits a file of theirs, commits; then `copier update` to this
    template. No conflict, their work as they left it, and their suite passes."""
    project = Project.copied_from_template(tmp_path, TEMPLATE_ROOT, commit, answers)
    revision = project.add_a_model_and_its_revision(MODELS / "note.py", "add note table")
    gitignore = project.path / ".gitignore"
    gitignore.write_text(gitignore.read_text() + "/local-notes/\n")
    git_commit_all(project.path, "Our notes")
    ours = {path: path.read_text() for path in (revision, project.models)}

    project.run(BIN / "copier", "update", "--defaults", "--quiet", "--vcs-ref", "HEAD")

    assert leftovers(project.path) == []
    assert {path: path.read_text() for path in ours} == ours, "the user's files as they were"
    assert gitignore.read_text().endswith("/local-notes/\n"), "the user's edit is kept"
    project.own_suite()
    # A database from before the record of applied revisions is taken as it is.
    head = project.alembic("current").stdout.split()[0]
    upgraded = project.alembic("upgrade", "head").stderr
    ran = len(list(project.versions.glob("*.py")))
    taken = f"with no record of the {ran} revisions up to {head}: took them as run"
    assert (taken in upgraded) is before_the_record(commit)
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    database = Database.sqlite_file(project.default_database)
    assert {"account", "note"} <= database.tables()
    how = {"taken as run"} if before_the_record(commit) else {"upgrade"}
    assert set(database.applied().values()) == how


def before_the_record(commit: str) -> bool:
    """True if a project from `commit` migrates with no record of applied revisions."""
    files = git("ls-tree", "-r", "--name-only", commit, "template", cwd=TEMPLATE_ROOT)
    return "/migrations/runtime/applied.py" not in files

"""Releases: what the template has shipped stays put, and updating from the previous
release lands exactly where a fresh copy does."""

import filecmp
import hashlib
import re

import pytest
import yaml
from helpers import BIN, COPIER_YML, TEMPLATE_ROOT, git, git_commit_all

# Every revision the template has ever shipped, with the SHA-256 of its rendered
# file. Users' databases record these revision ids: never edit one, add a new one.
SHIPPED_REVISIONS = {
    "2026_11_24_0000-6ed9f93df750_create_account_table.py": (
        "cefd963da0e088936abb17078603c3099fdfe4e43f789b49de7498ecb39b0e7e"
    ),
    "2026_11_24_0001-89feb189b99d_seed_accounts.py": (
        "5390c36f21eed086b02f33a34ece5b755bfe1957cae3c79caf4b697a9128773d"
    ),
}


def test_shipped_revisions_never_change(rendered):
    versions = rendered(seed_data=True) / "my_program" / "migrations" / "versions"
    actual = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in versions.iterdir()
    }
    changed = {name for name in SHIPPED_REVISIONS if actual.get(name) != SHIPPED_REVISIONS[name]}
    assert not changed, f"shipped revisions are immutable, but these changed: {changed}"
    assert set(actual) == set(SHIPPED_REVISIONS), "record each new shipped revision here"


def previous_release() -> str:
    """The newest commit titled "Release X.Y.Z" before HEAD (see README, Releasing).
    Commits, unlike tags, travel with every clone of the branch."""
    log = git("log", "--format=%H %s", "HEAD~1", cwd=TEMPLATE_ROOT)
    for line in log.splitlines():
        commit, subject = line.split(" ", 1)
        if re.fullmatch(r"Release \d+\.\d+\.\d+\S*", subject):
            return commit
    pytest.fail("no commit titled 'Release X.Y.Z' in the history before HEAD")


ANSWERS = ".copier-answers.yml"
# The user's files (copier.yml, _skip_if_exists) keep what the release gave them.
USER_OWNED = {
    pattern.replace("<< program_name >>", "my_program") for pattern in COPIER_YML["_skip_if_exists"]
}


def tree(path) -> set[str]:
    """The template's files in a project, by relative path."""
    return {
        str(file.relative_to(path))
        for file in path.rglob("*")
        if file.is_file() and ".git" not in file.relative_to(path).parts
    } - USER_OWNED


def test_update_from_the_previous_release_equals_a_fresh_copy(project, tmp_path):
    runner = project()  # for its private HOME and environment
    updated, fresh = tmp_path / "updated", tmp_path / "fresh"
    copy = [BIN / "copier", "copy", "--defaults", "--quiet"]
    runner.run(*copy, "--vcs-ref", previous_release(), TEMPLATE_ROOT, updated, cwd=tmp_path)
    git("init", "--quiet", cwd=updated)
    git_commit_all(updated, "Copied")
    runner.run(BIN / "copier", "update", "--defaults", "--quiet", "--vcs-ref", "HEAD", cwd=updated)
    runner.run(*copy, "--vcs-ref", "HEAD", TEMPLATE_ROOT, fresh, cwd=tmp_path)

    assert tree(updated) == tree(fresh)
    differing = [
        name
        for name in tree(fresh) - {ANSWERS}
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

"""A PostgreSQL project lints the SQL of every revision with squawk, offline: its
own test (tests/test_lint_revisions.py), run by pytest, pre-commit and CI. The
shipped revisions pass; a revision that would block or rewrite a live table fails,
named with squawk's rule; its safe rewrite passes, and migrates; the guide's way
to accept a risk knowingly does both. Other databases get none of it."""

import os
import re
from pathlib import Path

import pytest
import yaml
from helpers import BIN, OWN_SUITE, REVISIONS, SEED_ACCOUNTS, git, git_commit_all

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10, the minimum-versions job
    import tomli as tomllib

LINT = "tests/test_lint_revisions.py"
LINT_TEST = "test_revision_is_safe_on_a_live_database"
POSTGRESQL = {"database": "postgresql"}
# Revisions a team might write on a live database, and the rules squawk names.
UNSAFE = {
    "b10c00000001_index_account_names.py": {"require-concurrent-index-creation"},
    "b10c00000002_require_account_emails.py": {"adding-required-field"},
    "b10c00000003_account_creation_times.py": {"changing-column-type"},
    "b10c00000004_constrain_accounts.py": {
        "constraint-missing-not-valid",
        "adding-foreign-key-constraint",
    },
}
# Their safe rewrites, in order; then the guide's example (guide_revision()).
SAFE = [
    "5afe00000001_index_account_names_concurrently.py",
    "5afe00000002_add_account_emails.py",
    "5afe00000003_constrain_accounts_not_valid.py",
    "5afe00000004_validate_account_constraints.py",
]
GUIDE_REVISION = "5afe00000005_index_account_dates_knowingly.py"
GUIDE_REVISION_SOURCE = '''"""The guide's way to accept a risk knowingly.

Revision ID: 5afe00000005
Revises: 5afe00000004
"""

from alembic import op

revision = "5afe00000005"
down_revision = "5afe00000004"
branch_labels = None
depends_on = None


{upgrade}

def downgrade() -> None:
    op.drop_index("ix_account_create_date", "account")
'''


def lint(project, check=False):
    """The project's lint test, run as its users run it."""
    return project.python(*OWN_SUITE, "-v", "-W", "error", LINT, check=check)


def lint_outcomes(output: str) -> dict[str, str]:
    """{revision file: PASSED or FAILED}, from `pytest -v` output."""
    return dict(re.findall(rf"::{LINT_TEST}\[(.+?)\] (PASSED|FAILED|ERROR)", output))


def rules_named(output: str) -> dict[str, set[str]]:
    """{revision file: the squawk rules its failure names}."""
    reports = re.findall(
        r"^\S+/versions/(\S+\.py): squawk finds SQL that is unsafe on a live database:\n"
        r"((?:  .*\n)+)",
        output,
        re.M,
    )
    return {name: set(re.findall(r"^  ([a-z-]+): ", body, re.M)) for name, body in reports}


def shipped(project) -> list[str]:
    return sorted(path.name for path in project.versions.glob("*.py"))


def guide_revision(project) -> Path:
    """The revision that the guide's example of an accepted risk makes."""
    guide = (project.path / "docs" / "migrations.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", guide, re.M | re.S)
    (upgrade,) = [block for block in blocks if "-- squawk-ignore " in block]
    path = project.versions / GUIDE_REVISION
    path.write_text(GUIDE_REVISION_SOURCE.format(upgrade=upgrade))
    return path


@pytest.mark.parametrize(
    "answers",
    [{"seed_data": True}, {"seed_data": False, "async_engine": True}],
    ids=["seed", "noseed-async"],
)
def test_the_shipped_revisions_pass_the_linter(project, answers):
    """What the template ships is safe on a live database: the first revision only
    creates its table, and the seed only inserts rows."""
    project = project(**POSTGRESQL, **answers)
    result = lint(project, check=True)
    assert lint_outcomes(result.stdout) == dict.fromkeys(shipped(project), "PASSED")


def test_a_revision_that_would_block_a_live_table_fails_naming_its_file_and_rule(project):
    """An index built without CONCURRENTLY, a NOT NULL column without a default, a
    type change, constraints without NOT VALID: each revision fails on its own,
    its file and squawk's rules named; the revisions before them still pass."""
    project = project(**POSTGRESQL)
    before = shipped(project)
    for name in UNSAFE:
        project.add_revision(REVISIONS / name)
    result = lint(project)
    assert result.returncode == 1, result.stdout + result.stderr
    expected = dict.fromkeys(before, "PASSED") | dict.fromkeys(UNSAFE, "FAILED")
    assert lint_outcomes(result.stdout) == expected, result.stdout
    assert rules_named(result.stdout) == UNSAFE, result.stdout
    assert 'op.execute("-- squawk-ignore RULE")' in result.stdout, "the way out"


def test_the_safe_rewrites_and_the_guides_accepted_risk_pass_the_linter(project):
    """CONCURRENTLY in an autocommit_block(); a nullable column, and a NOT NULL one
    with a constant default; NOT VALID, validated in a later revision; and a plain
    index after the guide's squawk-ignore comment."""
    project = project(**POSTGRESQL)
    for name in SAFE:
        project.add_revision(REVISIONS / name)
    guide_revision(project)
    result = lint(project, check=True)
    assert lint_outcomes(result.stdout) == dict.fromkeys(shipped(project), "PASSED")


def test_the_ignore_comment_is_what_lets_the_accepted_risk_pass(project):
    """Without its comment, the README's revision fails: the comment is not a
    no-op that a passing linter would hide."""
    project = project(**POSTGRESQL)
    for name in SAFE:
        project.add_revision(REVISIONS / name)
    path = guide_revision(project)
    source = path.read_text()
    comment = '    op.execute("-- squawk-ignore require-concurrent-index-creation")\n'
    assert comment in source
    path.write_text(source.replace(comment, ""))
    result = lint(project)
    assert lint_outcomes(result.stdout)[GUIDE_REVISION] == "FAILED", result.stdout
    assert rules_named(result.stdout) == {GUIDE_REVISION: {"require-concurrent-index-creation"}}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_safe_rewrites_migrate(project_on, backend):
    """They run for real: on PostgreSQL, and on SQLite, where the project's tests
    run by default; the ignore comment is an empty statement to both."""
    project, database = project_on(backend, **POSTGRESQL)
    for name in SAFE:
        project.add_revision(REVISIONS / name)
    guide_revision(project)
    project.alembic("upgrade", "head")
    assert database.version() == "5afe00000005"
    for index in ("ix_account_name", "ix_account_create_date"):
        assert database.index_is_valid("account", index), index
    if backend == "postgresql":
        unvalidated = database.execute("SELECT conname FROM pg_constraint WHERE NOT convalidated")
        assert unvalidated == []
    project.alembic("downgrade", SEED_ACCOUNTS)
    assert database.version() == SEED_ACCOUNTS


def test_pre_commit_lints_the_revisions(project, tmp_path):
    """The hook runs the project's lint test in the environment of the commit (here
    this one's, first on PATH, as an activated one is)."""
    project = project(**POSTGRESQL)
    project.env["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    project.env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit")
    git("init", "--quiet", cwd=project.path)
    git_commit_all(project.path, "Copied")
    hook = [BIN / "pre-commit", "run", "lint-revisions", "--all-files"]
    assert "Passed" in project.run(*hook).stdout

    project.add_revision(REVISIONS / "b10c00000001_index_account_names.py")
    git("add", "--all", cwd=project.path)
    result = project.run(*hook, check=False)
    assert result.returncode == 1, result.stdout
    assert rules_named(result.stdout) == {
        "b10c00000001_index_account_names.py": {"require-concurrent-index-creation"}
    }


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mysql"])
def test_only_postgresql_projects_lint_their_revisions(rendered, database):
    """The test, its configuration, squawk in the dev group, the pre-commit hook,
    the CI step and the guide's section: all of them, or none."""
    path = rendered(database=database)
    postgresql = database == "postgresql"
    assert (path / LINT).is_file() is postgresql
    assert (path / ".squawk.toml").is_file() is postgresql
    dev = tomllib.loads((path / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    assert any(requirement.startswith("squawk-cli") for requirement in dev) is postgresql
    config = yaml.safe_load((path / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert ("lint-revisions" in hooks) is postgresql
    guide = (path / "docs" / "migrations.md").read_text()
    assert ("squawk-ignore" in guide) is postgresql
    workflows = "".join(p.read_text() for p in (path / ".github" / "workflows").iterdir())
    assert (f"run: pytest {LINT}" in workflows) is postgresql


def test_squawk_configuration_names_only_rules_squawk_knows(project):
    """A misspelt rule in .squawk.toml would exclude nothing: squawk must read it."""
    project = project(**POSTGRESQL)
    squawk = BIN / "squawk"
    empty = project.path / "empty.sql"
    empty.write_text("SELECT 1;\n")
    result = project.run(squawk, "--config", ".squawk.toml", empty, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    excluded = tomllib.loads((project.path / ".squawk.toml").read_text())["excluded_rules"]
    assert len(excluded) == len(set(excluded))

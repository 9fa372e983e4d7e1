"""Bringing your own history: a project made for one ships no example, and takes a
history the template did not write (no naming convention, a foreign key dropped by
the name each database gave it) and a database its old environment migrated, as
they are. tests/fixtures/history/ holds a short such history and its models; the
README's workflow runs on a long one (old_project.py)."""

import re
import shlex
import shutil

import old_project
import pytest
from helpers import (
    BIN,
    FIXTURES,
    MODELS,
    OWN_SUITE,
    SERVERS,
    TEMPLATE_ROOT,
    Database,
    Project,
    commands,
    fenced_blocks,
    git,
)
from sqlalchemy import make_url

HISTORY = FIXTURES / "history"
REVISIONS = ["aaaa00000001", "aaaa00000002", "aaaa00000003"]
# The checks that hold only the project's own revisions, after the baseline.
LINT = "test_revision_is_safe_on_a_live_database"
NO_TRACE = "test_downgrade_leaves_no_trace"
NOT_ON_MYSQL = {"postgresql": set(), "mysql": {NO_TRACE}}  # it commits DDL at once


def test_a_project_for_an_existing_history_ships_no_example(rendered):
    project = rendered(existing_history=True)
    versions = project / "my_program" / "migrations" / "versions"
    assert [path.name for path in versions.iterdir()] == ["README.md"]
    assert not (project / "tests" / "test_seed_data.py").exists()
    models = (project / "my_program" / "models.py").read_text()
    assert "class Account" not in models
    assert "metadata = MetaData()" in models, "no convention: the databases' own names"
    convention = rendered(existing_history=True, naming_convention="template")
    assert "naming_convention={" in (convention / "my_program" / "models.py").read_text()


def bring_in_the_history(project, tmp_path) -> None:
    """What the guide says: the revisions adopted from the old project's versions
    directory, as they are; the models."""
    adopted = project.python(*old_versions(tmp_path, project.program_name))
    assert "Adopted 3 revisions" in adopted.stdout
    project.add_models(HISTORY / "models.py")


@pytest.mark.parametrize("backend", list(SERVERS))
def test_a_history_and_its_databases_are_taken_as_they_are(
    project, server_database, tmp_path, backend
):
    """And the project's suite runs the whole history, up and down, on an empty
    database of that server; on PostgreSQL it lints only what comes after it."""
    project = project(existing_history=True, database=backend)
    bring_in_the_history(project, tmp_path)
    # A database the history's old environment migrated: no record of what it ran.
    old = server_database(backend)
    env = {project.url_env: project.url_for(old)}
    project.alembic("upgrade", "head", env=env)
    Database(old).execute("DROP TABLE alembic_version_applied")
    Database(old).execute("INSERT INTO team (name) VALUES ('reds')")

    upgraded = project.alembic("upgrade", "head", env=env).stderr
    assert "Running upgrade" not in upgraded, upgraded
    assert Database(old).applied() == {revision: "taken as run" for revision in REVISIONS}
    assert "No new upgrade operations detected" in project.alembic("check", env=env).stdout
    assert Database(old).execute("SELECT name FROM team") == [("reds",)]

    # The whole history, up and down, on an empty database of that server; the
    # strict checks (lint, no trace) have nothing of the project's own yet, then
    # its first revision.
    strict = {NO_TRACE, LINT} if backend == "postgresql" else {NO_TRACE}
    test_env = {project.test_url_env: project.url_for(server_database(backend))}
    project.own_suite(env=test_env, skipped=strict)
    project.add_models(MODELS / "post.py")
    project.alembic("revision", "--autogenerate", "-m", "posts", env=env)
    outcomes = project.own_suite(
        env=test_env, skipped=strict - {LINT, NO_TRACE} | NOT_ON_MYSQL[backend]
    )
    linted = [test for test in outcomes if LINT in test]
    assert len(linted) == (backend == "postgresql") and all("_posts.py" in t for t in linted)


@pytest.mark.parametrize("backend", list(SERVERS))
def test_the_default_database_is_on_the_local_server(
    project, server_database, servers, tmp_path, backend
):
    """A history written for a server need not run on SQLite: with no URL set, the
    project migrates the database named after it on the local server, as the user
    (libpq's PG* variables; the login name for MySQL)."""
    url = server_database(backend)
    project = project(existing_history=True, database=backend, program_name=make_url(url).database)
    bring_in_the_history(project, tmp_path)
    project.alembic("upgrade", "head", env=logged_in_as_the_admin(servers(backend).admin_url))
    assert {"team", "player"} <= Database(url).tables()


def logged_in_as_the_admin(admin) -> dict:
    """The environment in which the project's default URL reaches the test server."""
    if admin.get_backend_name() == "postgresql":
        return {
            "PGHOST": admin.host,
            "PGPORT": str(admin.port or 5432),
            "PGUSER": admin.username,
            "PGPASSWORD": admin.password,
        }
    if admin.host not in ("127.0.0.1", "localhost") or admin.port not in (None, 3306):
        pytest.skip("The MySQL default is localhost:3306; TEST_MYSQL_URL names another server")
    if admin.password:
        pytest.skip("The MySQL default has no password; TEST_MYSQL_URL's login has one")
    return {"USER": admin.username, "LOGNAME": admin.username}


@pytest.mark.parametrize("backend", list(SERVERS))
def test_the_templates_convention_on_an_old_history_is_named(
    project, server_database, tmp_path, backend
):
    """A revision that drops a constraint by the name its database gave it, after the
    template's convention named it otherwise: one line that says so."""
    project = project(existing_history=True, naming_convention="template", database=backend)
    bring_in_the_history(project, tmp_path)
    env = {project.url_env: project.url_for(server_database(backend))}
    failed = project.alembic("upgrade", "head", env=env, check=False)
    assert failed.returncode != 0
    (line,) = [line for line in failed.stdout.splitlines() if line.startswith("FAILED")]
    name = {"postgresql": "player_team_id_fkey", "mysql": "player_ibfk_1"}[backend]
    assert "Revision aaaa00000002 " in line and f"names {name!r}" in line, line
    assert "naming convention" in line and "Bringing your own history" in line
    assert "Traceback" not in failed.stdout + failed.stderr


def old_versions(tmp_path, program_name="my_program") -> list:
    """The history's versions directory, in the old project; the adopt command."""
    directory = tmp_path / "old_project" / "versions"
    directory.mkdir(parents=True)
    for revision in HISTORY.glob("2019_*.py"):
        shutil.copy(revision, directory)
    return ["-m", f"{program_name}.migrations.history", "adopt", directory]


def test_adopt_refuses_a_second_base_and_copies_nothing(project, tmp_path):
    project = project(seed_data=False)  # its shipped revision: a base of its own
    before = sorted(path.name for path in project.versions.iterdir())
    refused = project.python(*old_versions(tmp_path), check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("With your revisions, the history would have 2 heads")
    assert "nothing was copied" in refused.stderr and "Traceback" not in refused.stderr
    assert sorted(path.name for path in project.versions.iterdir()) == before


def test_adopt_refuses_revisions_it_cannot_read_and_copies_nothing(project, tmp_path):
    """A revision that imports the old application, which is not here."""
    project = project(existing_history=True)
    adopt = old_versions(tmp_path)
    (adopt[-1] / "2019_04_01_0000-aaaa00000004_app.py").write_text(
        '"""app"""\n\nfrom old_application.models import db\n\n'
        'revision = "aaaa00000004"\ndown_revision = "aaaa00000003"\n'
    )
    refused = project.python(*adopt, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("Cannot read the revisions, and nothing was copied: ")
    assert "old_application" in refused.stderr and "Traceback" not in refused.stderr
    assert [path.name for path in project.versions.iterdir()] == ["README.md"]


def readme_workflow() -> list[list[str]]:
    """The commands of the README's "Bring your own history", each as its arguments."""
    readme = (TEMPLATE_ROOT / "README.md").read_text()
    section = readme[readme.index("## Bring your own history") :]
    block = next(lines for language, lines in fenced_blocks(section) if language == "sh")
    lines = "\n".join(block).replace("\\\n", " ").splitlines()
    return [shlex.split(part) for command in commands(lines) for part in command.split("&&")]


@pytest.mark.parametrize("backend", list(SERVERS))
def test_the_readme_brings_a_long_history_in(tmp_path, server_database, backend):
    """The README's commands as written, in a repository with 25 revisions that the
    template did not write and a database its old environment migrated. Copier's
    questions get their defaults, and a yes for each file it asks to replace."""
    project = Project.at(tmp_path, {"program_name": old_project.PACKAGE, "database": backend})
    old_project.write_old_project(project.path)
    old = server_database(backend)
    old_url = project.url_for(old)
    project.alembic("upgrade", "head", env={old_project.URL_ENV: old_url})  # its env.py
    Database(old).execute("INSERT INTO teams (name) VALUES ('reds')")
    theirs = {name: (project.path / name).read_text() for name in ("README.md", "app/models.py")}

    ran = {}
    for command in readme_workflow():
        said = " ".join(command)
        if command[0] == "cd" or command[:2] == ["uv", "sync"]:
            continue  # the test runs in the project, in its own environment
        if command[0] == "export":
            project.env[project.url_env] = old_url
        elif command[:2] == ["copier", "copy"]:
            answers = [arg.replace("=postgresql", f"={backend}") for arg in command[2:-2]]
            ran[said] = project.run(
                BIN / "copier", "copy", *answers, "--defaults", "--overwrite", TEMPLATE_ROOT, "."
            )
        elif command[-1] == "pytest":
            the_suite_leaves_out_the_broken_downgrade(project, server_database(backend))
        elif command[:2] == ["uv", "run"]:
            ran[said] = project.run(BIN / command[2], *command[3:])
        else:
            ran[said] = project.run(*command)

    assert "Running upgrade" not in ran["uv run alembic upgrade head"].stderr
    revisions = [old_project.revision_id(message) for message, _ in old_project.STEPS]
    assert Database(old).applied() == {revision: "taken as run" for revision in revisions}
    assert "No new upgrade operations detected" in ran["uv run alembic check"].stdout
    assert Database(old).execute("SELECT name FROM teams") == [("reds",)]
    # Theirs kept, the revisions as they were named, the old environment gone.
    assert {name: (project.path / name).read_text() for name in theirs} == theirs
    adopted = sorted(path.name for path in project.versions.glob("*.py"))
    assert adopted == sorted(f"{revision}_{slug}.py" for revision, slug in slugs(revisions))
    assert not (project.path / "migrations").exists()
    assert git("status", "--short", cwd=project.path) == ""
    if backend == "postgresql":
        a_revision_after_the_baseline_must_leave_no_trace(project, server_database(backend))


def slugs(revisions: list[str]) -> list[tuple[str, str]]:
    """Each revision and the slug of its message, as `alembic revision` names files."""
    return [
        (revision, message.replace(" ", "_"))
        for revision, (message, _) in zip(revisions, old_project.STEPS, strict=True)
    ]


def the_suite_leaves_out_the_broken_downgrade(project, server_database_url) -> None:
    """`pytest` fails at the old downgrade that autogenerate left broken, naming the
    revision it was going to; the guide's conftest fixture, given the broken one,
    leaves it out, and the rest of the history goes up and down."""
    env = {project.test_url_env: project.url_for(server_database_url)}
    failed = project.python(*OWN_SUITE, "-q", env=env, check=False)
    messages = [message for message, _ in old_project.STEPS]
    broken = messages.index(old_project.BROKEN_DOWNGRADE)
    below = old_project.revision_id(messages[broken - 1])
    assert failed.returncode == 1, failed.stdout
    assert re.search(rf"Failing Revision:\s+E\s+{below}\b", failed.stdout), failed.stdout

    guide = (project.path / "docs" / "migrations.md").read_text()
    (fixture,) = [
        "\n".join(lines)
        for language, lines in fenced_blocks(guide)
        if language == "python" and "minimum_downgrade_revision" in "\n".join(lines)
    ]
    fixture = fixture.replace("REVISION", old_project.revision_id(messages[broken]))
    conftest = project.path / "tests" / "conftest.py"
    conftest.write_text(conftest.read_text() + "\n" + fixture)
    strict = {NO_TRACE} if project.answers["database"] == "mysql" else {NO_TRACE, LINT}
    project.own_suite(env=env, skipped=strict)


def a_revision_after_the_baseline_must_leave_no_trace(project, server_database_url) -> None:
    """The strict check holds the project's own revisions: one whose downgrade
    leaves its index behind fails it, as an old one did not (the history's index
    of tokens by expiration)."""
    before = set(project.versions.glob("*.py"))
    project.alembic("revision", "-m", "index pages by title")
    (revision,) = set(project.versions.glob("*.py")) - before
    index = '    op.create_index("ix_pages_title", "pages", ["title"])\n'
    revision.write_text(revision.read_text().replace("    pass\n", index, 1))
    env = {project.test_url_env: project.url_for(server_database_url)}
    failed = project.python(*OWN_SUITE, "-q", "-k", NO_TRACE, env=env, check=False)
    assert failed.returncode == 1, failed.stdout
    assert "ix_pages_title" in failed.stdout and "1 failed" in failed.stdout

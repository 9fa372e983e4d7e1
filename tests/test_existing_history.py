"""Bringing your own history: a project made for one ships no example, and takes a
history the template did not write (no naming convention, a foreign key dropped by
the name each database gave it) and a database its old environment migrated, as
they are. tests/fixtures/history/ holds that history and its models."""

import shutil

import pytest
from helpers import FIXTURES, MODELS, SERVERS, Database

HISTORY = FIXTURES / "history"
REVISIONS = ["aaaa00000001", "aaaa00000002", "aaaa00000003"]


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
    adopted = project.python(*old_versions(tmp_path))
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
    # lint has nothing of the project's own yet, then its first revision.
    lint = "test_revision_is_safe_on_a_live_database"
    skipped = {"test_downgrade_leaves_no_trace"} if backend == "mysql" else {lint}
    test_env = {project.test_url_env: project.url_for(server_database(backend))}
    project.own_suite(env=test_env, skipped=skipped)
    project.add_models(MODELS / "post.py")
    project.alembic("revision", "--autogenerate", "-m", "posts", env=env)
    outcomes = project.own_suite(env=test_env, skipped=skipped - {lint})
    linted = [test for test in outcomes if lint in test]
    assert len(linted) == (backend == "postgresql") and all("_posts.py" in t for t in linted)


def old_versions(tmp_path) -> list:
    """The history's versions directory, in the old project; the adopt command."""
    directory = tmp_path / "old_project" / "versions"
    directory.mkdir(parents=True)
    for revision in HISTORY.glob("2019_*.py"):
        shutil.copy(revision, directory)
    return ["-m", "my_program.migrations.history", "adopt", directory]


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

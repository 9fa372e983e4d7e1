"""`copier update` with the real Copier: a user's models, revisions, edits and data
survive a template update, and a clash is reported where the user will see it."""

import shutil
import subprocess

import pytest
from helpers import BIN, MODELS, TEMPLATE_ROOT, Database, Project, git, git_commit_all, leftovers

# What v2 of the throwaway template changes, by file: (template file, old, new).
V2_CHANGES = {
    "env": ("template/<< program_name >>/migrations/env.py.jinja", None, "# Changed in v2.\n"),
    "ini": ("template/alembic.ini.jinja", "timezone = UTC", "timezone = Europe/Paris"),
    "readme": ("template/README.md.jinja", None, "\nTemplate text added in v2.\n"),
    "models": (
        "template/<< program_name >>/models.py.jinja",
        None,
        "# Template comment added in v2.\n",
    ),
    "package": (
        "template/<< program_name >>/__init__.py.jinja",
        None,
        "# Template comment added in v2.\n",
    ),
}

USER_ENV_LINE = ("config = context.config\n", "config = context.config  # ours\n")


@pytest.fixture(scope="module")
def template_v1_v2(tmp_path_factory):
    """A throwaway git copy of this template's working tree, tagged v1; then every
    change in V2_CHANGES, tagged v2."""
    repository = tmp_path_factory.mktemp("template")
    tracked = git("ls-files", "--cached", "--others", "--exclude-standard", cwd=TEMPLATE_ROOT)
    for name in tracked.splitlines():
        if (TEMPLATE_ROOT / name).is_file():
            (repository / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE_ROOT / name, repository / name)
    git("init", "--quiet", cwd=repository)
    git_commit_all(repository, "v1")
    git("tag", "v1", cwd=repository)
    for path, old, new in V2_CHANGES.values():
        file = repository / path
        text = file.read_text()
        file.write_text(text + new if old is None else text.replace(old, new))
    git_commit_all(repository, "v2")
    git("tag", "v2", cwd=repository)
    return repository


@pytest.fixture(scope="module")
def users_project(template_v1_v2, tmp_path_factory):
    """A project copied from v1, in git, migrated, then changed and committed the
    way a user would: a new model with its revision applied, and a README edit."""
    directory = tmp_path_factory.mktemp("users")
    project = Project.copied_from_template(directory, template_v1_v2, "v1", {})
    project.add_a_model_and_its_revision(MODELS / "invoice.py", "add invoice table")
    readme = project.path / "README.md"
    readme.write_text(readme.read_text() + "\n## Our own notes\n")
    # An edit to the template's plumbing, away from anything v2 changes.
    env_py = project.path / "my_program" / "migrations" / "env.py"
    env_py.write_text(env_py.read_text().replace(USER_ENV_LINE[0], USER_ENV_LINE[1]))
    git_commit_all(project.path, "Our invoices")
    return project


@pytest.fixture
def user_project(users_project, tmp_path):
    """A copy of users_project, for a test to update."""
    return users_project.copy_to(tmp_path)


def copier_update(project) -> subprocess.CompletedProcess:
    return project.run(BIN / "copier", "update", "--defaults")


def test_update_brings_the_fix_and_keeps_the_users_work(user_project):
    project = user_project
    (user_revision,) = project.versions.glob("*_add_invoice_table.py")

    copier_update(project)

    assert leftovers(project.path) == []
    env_py = (project.path / "my_program/migrations/env.py").read_text()
    assert "# Changed in v2." in env_py, "the fix arrives"
    assert USER_ENV_LINE[1] in env_py, "the user's edit to the plumbing is merged in"
    assert "timezone = Europe/Paris" in (project.path / "alembic.ini").read_text()
    # The user's files: their model, their revision, their README, as they left them.
    models = (project.path / "my_program" / "models.py").read_text()
    assert "class Invoice(Base):" in models
    assert "Template comment added in v2." not in models, "models.py is the user's"
    assert user_revision.is_file()
    readme = (project.path / "README.md").read_text()
    assert "## Our own notes" in readme
    assert "Template text added in v2." not in readme, "README.md is the user's"
    package = (project.path / "my_program" / "__init__.py").read_text()
    assert "Template comment added in v2." not in package, "__init__.py is the user's"
    assert "_commit: v2" in (project.path / ".copier-answers.yml").read_text()

    # The database migrated before the update still upgrades and checks clean.
    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    database = Database.sqlite_file(project.default_database)
    assert {"account", "invoice"} <= database.tables()
    assert len(database.accounts()) == 3


def test_a_clashing_edit_is_left_for_the_user_to_resolve(user_project):
    """The user changed a line that v2 changes too: Copier keeps both, marked, exits 0,
    and git shows the file as unmerged. This is what the README teaches to resolve."""
    project = user_project
    ini = project.path / "alembic.ini"
    ini.write_text(ini.read_text().replace("timezone = UTC", "timezone = Europe/London"))
    git_commit_all(project.path, "Our time zone")

    result = copier_update(project)

    assert result.returncode == 0, "Copier does not fail on a conflict: look for markers"
    assert leftovers(project.path) == ["alembic.ini"]
    text = ini.read_text()
    assert "<<<<<<< before updating\ntimezone = Europe/London\n=======\n" in text
    assert "timezone = Europe/Paris\n>>>>>>> after updating" in text
    assert "UU alembic.ini" in git("status", "--porcelain", cwd=project.path)
    check = subprocess.run(
        ["git", "diff", "--check"], cwd=project.path, capture_output=True, text=True
    )
    assert check.returncode != 0 and "leftover conflict marker" in check.stdout


def test_switching_to_the_async_engine_keeps_the_database(user_project):
    """`copier update --data async_engine=true`: the same variable and default SQLite
    file, now reached through aiosqlite, with the user's revision and rows intact."""
    project = user_project
    (user_revision,) = project.versions.glob("*_add_invoice_table.py")
    head = user_revision.name.split("-")[1].split("_")[0]

    project.run(BIN / "copier", "update", "--defaults", "--data", "async_engine=true")

    assert leftovers(project.path) == []
    database = (project.path / "my_program" / "migrations" / "runtime" / "database.py").read_text()
    assert "ASYNC_ENGINE = True" in database
    assert '"sqlite+aiosqlite"' in (project.path / "my_program" / "settings.py").read_text()
    assert f"{head} (head)" in project.alembic("current").stdout
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    assert project.program("current", "async").stdout.strip() == head
    database = Database.sqlite_file(project.default_database)
    assert {"account", "invoice"} <= database.tables()
    assert len(database.accounts()) == 3

"""The rendered project as its users run it: its own tests, the runtime's Python API
on each database, the snippet its users copy from the seed document, and the
package installed from a wheel."""

import json
import os
import re
import shutil
import uuid
import zipfile

import pytest
from helpers import (
    BACKENDS,
    BIN,
    ENGINE_VARIANTS,
    OWN_SUITE,
    PROGRAMS,
    PROJECT_TESTS,
    SEED_ACCOUNTS,
    SEEDED_ROWS,
    SERVERS,
    Database,
    answers_id,
)
from sqlalchemy import make_url

# A password as people choose them: "%" and "@", URL-encoded in the test variable.
HARD_PASSWORD = "p%25w@rd:/1"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_projects_own_tests_pass(project, servers, server_database, tmp_path, backend):
    """On a throwaway SQLite file, or on the server its test variable names, as a
    user whose password has a "%" and an "@"; never on the database the user
    configured, nor on the default one. (With the seed and either engine,
    test_project_life.py runs them after each of a team's revisions.)"""
    project = project(seed_data=False)
    configured = tmp_path / "configured.db"
    env = {project.url_env: project.url_for(f"sqlite:///{configured}")}
    user = f"tpl_{uuid.uuid4().hex[:12]}"
    if backend != "sqlite":
        test_url = make_url(server_database(backend))
        servers(backend).create_user(user, HARD_PASSWORD, test_url.database)
        test_url = test_url.set(username=user, password=HARD_PASSWORD)
        env[project.test_url_env] = project.url_for(test_url.render_as_string(hide_password=False))

    try:
        skipped = {"test_downgrade_leaves_no_trace"} if backend == "mysql" else set()
        project.own_suite(env=env, skipped=skipped)
    finally:
        if backend != "sqlite":
            servers(backend).drop_database(test_url.database)
            servers(backend).drop_user(user)
    assert not configured.exists(), "the tests touched the configured database"
    assert not project.default_database.exists(), "the tests touched the default database"


RUNTIME_API_CASES = [
    pytest.param(backend, engine, id=f"{backend}-{answers_id(engine)}")
    for backend in BACKENDS
    for engine in ENGINE_VARIANTS
]


@pytest.mark.parametrize(("backend", "engine"), RUNTIME_API_CASES)
def test_the_runtime_api_works_on_each_database(project, server_database, backend, engine):
    """The Python API as applications and tools call it (fixtures/project_tests/),
    run inside a rendered project with its own fixtures: upgrade() and friends, a
    connection, engine or async connection handed over, the caller's transaction,
    the application's logging."""
    project = project(**engine)
    tests = ["test_runtime_api.py"] + (["test_runtime_async.py"] if project.async_engine else [])
    for name in tests:
        shutil.copy(PROJECT_TESTS / name, project.path / "tests" / name)
    env = {}
    if backend != "sqlite":
        env[project.test_url_env] = project.url_for(server_database(backend))
    skipped = {"test_downgrade_leaves_no_trace"} if backend == "mysql" else set()
    outcomes = project.own_suite(env=env, skipped=skipped)
    assert {test.split("::")[0] for test in outcomes} >= {f"tests/{name}" for name in tests}


# The configured database, spelled another way in the test variable: as a path
# relative to the working directory or with a "." in it; as localhost with the
# port left out; through the server's socket, behind a host name that resolves to
# nothing (only the server itself can tell it is the same database).
SAME_DATABASE_SPELLINGS = ["sqlite-relative", "sqlite-dotted", "localhost", "socket"]
# The URL query option that names a server's socket, and the setting that says where.
SOCKETS = {"postgresql": ("host", "unix_socket_directories"), "mysql": ("unix_socket", "socket")}
REFUSAL_CASES = [
    pytest.param(backend, spelling, id=f"{backend}-{spelling}")
    for backend in BACKENDS
    for spelling in SAME_DATABASE_SPELLINGS
    if spelling.startswith("sqlite") is (backend == "sqlite")
]


@pytest.mark.parametrize(("backend", "spelling"), REFUSAL_CASES)
def test_the_projects_tests_refuse_to_run_on_the_configured_database(
    project_on, servers, backend, spelling
):
    """The tests empty their database; pointed at the user's, however spelled, they
    must not start."""
    project, database = project_on(backend)
    project.alembic("upgrade", "head")
    if backend == "sqlite":
        path = project.default_database
        if spelling == "sqlite-relative":  # the suite runs in the project's directory
            same = f"sqlite:///./{os.path.relpath(path, project.path)}"
        else:
            same = f"sqlite:///{path.parent}/./{path.name}"
    else:
        url = make_url(project.env[project.url_env])
        if spelling == "localhost":
            same = url.set(host="localhost", port=None)
        else:
            option, setting = SOCKETS[backend]
            socket = servers(backend).setting(setting).split(",")[0]
            same = url.set(host="db.example.invalid", port=None)
            same = same.update_query_dict({option: socket})
        same = same.render_as_string(hide_password=False)
    result = project.python(*OWN_SUITE, check=False, env={project.test_url_env: same})
    assert result.returncode == 4, result.stdout
    assert "names the configured database" in result.stdout + result.stderr
    assert database.accounts() == SEEDED_ROWS


@pytest.mark.parametrize("backend", list(SERVERS))
def test_the_projects_tests_refuse_a_database_they_cannot_tell_apart(project_on, backend):
    """The configured URL cannot log in (another user), or names a host that does not
    resolve, so its server cannot be asked: a database of the test database's name at
    the same address is the configured one, and elsewhere it may be."""
    project, database = project_on(backend)
    project.alembic("upgrade", "head")
    test_url = make_url(project.env[project.url_env])
    for configured, says in (
        (test_url.set(username="tpl_nobody"), "names the configured database"),
        (test_url.set(host="db.example.invalid"), "on a server that cannot be asked"),
    ):
        env = {
            project.url_env: configured.render_as_string(hide_password=False),
            project.test_url_env: test_url.render_as_string(hide_password=False),
        }
        result = project.python(*OWN_SUITE, check=False, env=env)
        assert result.returncode == 4, result.stdout
        assert says in result.stdout + result.stderr
    assert database.accounts() == SEEDED_ROWS


def test_seed_document_snippet_works_verbatim_and_keeps_app_logging(project):
    project = project()
    result = project.python(PROGRAMS / "migrate_in_process.py")
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state == {"same": True, "app_disabled": False}
    assert Database.sqlite_file(project.default_database).accounts() == SEEDED_ROWS


def test_alembic_ini_logging_spares_loggers_that_already_exist(project):
    """Without configure_logger = False, alembic.ini's logging is applied, but the
    application's existing loggers stay enabled (disable_existing_loggers=False)."""
    project = project()
    result = project.python(PROGRAMS / "migrate_in_process.py", "keep-logging")
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state["app_disabled"] is False


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_the_guides_lifespan_snippet_migrates_at_start_up(project, engine):
    project = project(**engine)
    result = project.program("guide_lifespan")
    assert result.stdout.strip() == SEED_ACCOUNTS
    assert Database.sqlite_file(project.default_database).accounts() == SEEDED_ROWS


def test_installed_wheel_migrates_from_outside_the_source_tree(project, tmp_path):
    """The wheel carries the migrations; upgrade() needs no alembic.ini or checkout."""
    project = project()
    uv_env = {"HOME": os.environ.get("HOME")}  # uv's cache, not the project's private HOME
    dist = tmp_path / "dist"
    project.run(BIN / "uv", "build", "--wheel", "--out-dir", dist, project.path, env=uv_env)
    (wheel,) = dist.glob("*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    for name in ("env.py", "script.py.mako", "__init__.py", "runtime/environment.py"):
        assert f"my_program/migrations/{name}" in packaged
    assert any(
        re.match(r"my_program/migrations/versions/.*_seed_accounts\.py$", n) for n in packaged
    )

    venv = tmp_path / "venv"
    project.run(BIN / "python", "-m", "venv", "--without-pip", venv)
    project.run(
        BIN / "uv", "pip", "install", "--python", venv / "bin" / "python", wheel, env=uv_env
    )

    outside = tmp_path / "outside"
    outside.mkdir()
    python = venv / "bin" / "python"
    project.env["PYTHONPATH"] = None  # the installed package, not the source tree
    project.run(python, PROGRAMS / "upgrade.py", "my_program", cwd=outside)
    result = project.run(python, PROGRAMS / "current.py", "my_program", cwd=outside)
    assert result.stdout.strip() == SEED_ACCOUNTS
    assert Database.sqlite_file(project.default_database).accounts() == SEEDED_ROWS

    # Only SQLite's driver comes with the default answers: the error names the extra.
    server = {project.url_env: "postgresql+psycopg://app@localhost/app"}
    result = project.run(
        python, PROGRAMS / "upgrade.py", "my_program", cwd=outside, env=server, check=False
    )
    assert result.returncode != 0
    assert "pip install 'my_program[postgresql]'" in result.stderr

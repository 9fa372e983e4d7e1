"""Fixtures for the template's tests: render once per answer set, run the real tools.

Renders are cached per answer set for the whole session, shared by the xdist
workers, and are read-only; a test that runs or changes a project gets its own copy
from `project`.
"""

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from filelock import FileLock
from helpers import (
    SERVERS,
    SHAPE_IDS,
    SHAPES,
    TEMPLATE_ROOT,
    Database,
    Project,
    Server,
    engine_for,
    isolated_environment,
)
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError


@pytest.fixture(scope="session", autouse=True)
def isolated_tools(tmp_path_factory):
    """Keep the developer's git identity and Copier settings out of the results."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in isolated_environment(tmp_path_factory.mktemp("tools")).items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def rendered(copie_session, tmp_path_factory):
    """render(**answers) -> path of a read-only project rendered with those answers,
    once per session: the xdist workers share the renders."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's directory, above each worker's
    renders = shared / "renders"
    renders.mkdir(exist_ok=True)

    def render(**answers) -> Path:
        key = hashlib.sha256(repr(sorted(answers.items())).encode()).hexdigest()[:16]
        path = renders / key
        with FileLock(f"{path}.lock"):
            if not path.exists():
                result = copie_session.copy(extra_answers=answers, template_dir=TEMPLATE_ROOT)
                # pytest-copie turns a failed render into attributes: fail loudly here.
                assert result.exception is None, f"render {answers} failed: {result.exception!r}"
                assert result.exit_code == 0, f"render {answers} exited {result.exit_code}"
                # Copier ignores unknown answer keys without a word.
                unused = {k: v for k, v in answers.items() if result.answers.get(k) != v}
                assert not unused, f"answers not taken by the template: {unused}"
                shutil.copytree(result.project_dir, f"{path}.partial")
                os.rename(f"{path}.partial", path)
        return path

    return render


@pytest.fixture(params=SHAPES, ids=SHAPE_IDS)
def shape(request) -> dict:
    """An answer set that changes which files are rendered or how long lines are."""
    return request.param


@pytest.fixture
def shaped_render(rendered, shape) -> Path:
    """The read-only render of each of those answer sets."""
    return rendered(**shape)


@pytest.fixture
def project(rendered, tmp_path):
    """project(**answers) -> a Project: a private copy of the render, with its own HOME."""

    def make(**answers) -> Project:
        return Project.copied(rendered(**answers), tmp_path, answers)

    return make


# The modules of the longest tests.
LONGEST = ("test_project_life.py", "test_releases.py")


def pytest_collection_modifyitems(items):
    """A test that reaches a server (through the servers fixture, for a server
    among its parameters) is slow; the fast subset is every other test. The
    longest come first, a project's life and its updates from every release,
    which xdist then packs the others around."""
    items.sort(key=lambda item: item.path.name not in LONGEST)
    for item in items:
        params = getattr(item, "callspec", None) and item.callspec.params.values()
        uses_a_server = "servers" in item.fixturenames and any(map(names_a_server, params or []))
        if uses_a_server:
            item.add_marker(pytest.mark.slow)


def names_a_server(param) -> bool:
    if isinstance(param, tuple):
        return any(map(names_a_server, param))
    return isinstance(param, str) and param in SERVERS


def server_unavailable(reason: str) -> None:
    """Skip on a developer's machine; in CI a server test must run, so fail."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{reason} (CI is set: server tests may not skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def servers():
    """servers(kind) -> the Server, reached once per session, or skip/fail saying why."""
    reached: dict[str, Server | str] = {}

    def reach(kind: str) -> Server | str:
        variable, example = SERVERS[kind]
        if not os.environ.get(variable):
            return f"{variable} is not set; to run the {kind} tests: export {variable}={example}"
        url = make_url(os.environ[variable])
        try:
            # A server that accepts but never answers must not hang the run.
            with engine_for(url, connect_args={"connect_timeout": 10}) as engine, engine.connect():
                return Server(kind, url)
        except SQLAlchemyError as error:
            # repr(url) masks the password; the error names what went wrong.
            return f"cannot reach {kind} at {url!r} ({variable}): {error.orig or error}"

    def server(kind: str) -> Server:
        if kind not in reached:
            reached[kind] = reach(kind)
        if isinstance(reached[kind], str):
            server_unavailable(reached[kind])
        return reached[kind]

    return server


@pytest.fixture
def server_database(servers):
    """server_database(kind) -> URL of a new, empty database, dropped after the test."""
    made: list[tuple[Server, str]] = []

    def make(kind: str) -> str:
        server = servers(kind)
        name = server.create_database()
        made.append((server, name))
        return server.url(name)

    yield make
    for server, name in made:
        server.drop_database(name)


@pytest.fixture
def project_on(project, server_database):
    """project_on(backend, **answers) -> (Project, Database): a project whose
    migrations target the backend: the default SQLite file, or a new server database."""

    def make(backend: str, **answers) -> tuple[Project, Database]:
        made = project(**answers)
        if backend == "sqlite":
            return made, Database.sqlite_file(made.default_database)
        url = server_database(backend)
        made.env[made.url_env] = made.url_for(url)
        return made, Database(url)

    return make

"""The rendered project as its users run it: its own tests, the snippet its users
copy from the seed document, and the package installed from a wheel."""

import json
import os
import re
import zipfile

import pytest
from helpers import (
    BACKENDS,
    BIN,
    ENGINE_VARIANTS,
    SEED_VARIANTS,
    SEEDED_ROWS,
    Database,
    answers_id,
)

PROJECT_TESTS = [
    "test_single_head_revision",
    "test_upgrade",
    "test_model_definitions_match_ddl",
    "test_up_down_consistency",
    "test_upgrade_and_downgrade_move_the_current_revision",
    "test_upgrade_leaves_application_logging_alone",
    "test_alembic_ini_with_configure_logger_false_leaves_logging_alone",
    "test_a_connection_handed_over_is_used",
    "test_an_engine_handed_over_is_used",
    "test_upgrade_async_runs_inside_a_running_event_loop",
]
ASYNC_TESTS = [
    "test_the_synchronous_api_in_a_running_event_loop_says_what_to_do_instead",
    "test_the_cookbooks_run_sync_pattern_is_used",
    "test_an_async_engine_handed_over_is_used",
    "test_an_async_connection_handed_over_is_refused_with_the_way_to_go",
]
SEED_TESTS = [
    "test_upgrade_seeds_the_example_accounts",
    "test_new_accounts_get_ids_after_the_seeded_ones",
    "test_downgrade_removes_exactly_the_seeded_accounts",
]

# Migrating in-process, as the seed document shows, inside an application that has
# set up its own logging; prints what became of that logging.
SEED_DOCUMENT_SNIPPET = """
import json, logging, sys

logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
app_logger = logging.getLogger("application")
root = logging.getLogger()
before = {"handlers": list(map(id, root.handlers)), "level": root.level}

from alembic.config import Config
import alembic.command

config = Config('alembic.ini')
config.attributes['configure_logger'] = False
alembic.command.upgrade(config, 'head')

after = {"handlers": list(map(id, root.handlers)), "level": root.level}
print(json.dumps({"same": before == after, "app_disabled": app_logger.disabled}))
"""


OWN_SUITE_CASES = [
    *(
        pytest.param("sqlite", answers, id=f"sqlite-{answers_id(answers)}")
        for answers in SEED_VARIANTS
    ),
    *(
        pytest.param(backend, answers, id=f"{backend}-{answers_id(answers)}")
        for backend in BACKENDS
        for answers in ENGINE_VARIANTS
        if backend != "sqlite" or answers["async_engine"]
    ),
]


@pytest.mark.parametrize(("backend", "answers"), OWN_SUITE_CASES)
def test_the_projects_own_tests_pass(project, server_database, tmp_path, backend, answers):
    """On a throwaway SQLite file, or on the server its test variable names; never on
    the database the user configured, nor on the default one."""
    project = project(**answers)
    configured = tmp_path / "configured.db"
    env = {project.url_env: project.url_for(f"sqlite:///{configured}")}
    if backend != "sqlite":
        env[project.test_url_env] = project.url_for(server_database(backend))

    result = project.python("-m", "pytest", "-v", "-p", "no:cacheprovider", "-W", "error", env=env)
    expected = PROJECT_TESTS + (SEED_TESTS if answers.get("seed_data", True) else [])
    expected += ASYNC_TESTS if project.async_engine else []
    not_passed = [name for name in expected if f"::{name} PASSED" not in result.stdout]
    assert not not_passed, f"did not run and pass: {not_passed}\n{result.stdout}"
    assert not configured.exists(), "the tests touched the configured database"
    assert not project.default_database.exists(), "the tests touched the default database"


def test_the_projects_tests_refuse_to_run_on_the_configured_database(project):
    """The tests empty their database; pointed at the user's, they must not start."""
    project = project()
    project.alembic("upgrade", "head")
    configured = f"sqlite:///{project.default_database}"
    result = project.python("-m", "pytest", check=False, env={project.test_url_env: configured})
    assert result.returncode == 4
    assert "names the configured database" in result.stdout + result.stderr
    assert Database.sqlite_file(project.default_database).accounts() == SEEDED_ROWS


def test_seed_document_snippet_works_verbatim_and_keeps_app_logging(project):
    project = project()
    result = project.python("-c", SEED_DOCUMENT_SNIPPET)
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state == {"same": True, "app_disabled": False}
    assert Database.sqlite_file(project.default_database).accounts() == SEEDED_ROWS


def test_alembic_ini_logging_spares_loggers_that_already_exist(project):
    """Without configure_logger = False, alembic.ini's logging is applied, but the
    application's existing loggers stay enabled (disable_existing_loggers=False)."""
    project = project()
    snippet = SEED_DOCUMENT_SNIPPET.replace("config.attributes['configure_logger'] = False\n", "")
    result = project.python("-c", snippet)
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state["app_disabled"] is False


# Runs the README's start-up hook as a web framework would: entered, then left.
RUN_THE_README_LIFESPAN = """
import asyncio
blocks = [block.split("```")[0] for block in open("README.md").read().split("```python")]
(snippet,) = [block for block in blocks if "async def lifespan" in block]
exec(snippet)

async def serve():
    async with lifespan(app=None):
        from my_program import migrations
        print(await migrations.current_async())

asyncio.run(serve())
"""


@pytest.mark.parametrize("engine", ENGINE_VARIANTS, ids=answers_id)
def test_readme_lifespan_snippet_migrates_at_start_up(project, engine):
    project = project(**engine)
    result = project.python("-c", RUN_THE_README_LIFESPAN)
    assert result.stdout.strip() == "89feb189b99d"
    assert Database.sqlite_file(project.default_database).accounts() == SEEDED_ROWS


@pytest.mark.slow
def test_installed_wheel_migrates_from_outside_the_source_tree(project, tmp_path):
    """The wheel carries the migrations; upgrade() needs no alembic.ini or checkout."""
    project = project()
    uv_env = {"HOME": os.environ.get("HOME")}  # uv's cache, not the project's private HOME
    dist = tmp_path / "dist"
    project.run(BIN / "uv", "build", "--wheel", "--out-dir", dist, project.path, env=uv_env)
    (wheel,) = dist.glob("*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    for name in ("env.py", "script.py.mako", "__init__.py"):
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
    script = (
        "from my_program import migrations\nmigrations.upgrade()\nprint(migrations.current())\n"
    )
    result = project.run(venv / "bin" / "python", "-c", script, cwd=outside)
    assert result.stdout.strip() == "89feb189b99d"
    assert Database.sqlite_file(project.default_database).accounts() == SEEDED_ROWS

    # Only SQLite's driver comes with the default answers: the error names the extra.
    server = {project.url_env: "postgresql+psycopg://app@localhost/app"}
    result = project.run(
        venv / "bin" / "python", "-c", script, cwd=outside, env=server, check=False
    )
    assert result.returncode != 0
    assert "pip install 'my_program[postgresql]'" in result.stderr

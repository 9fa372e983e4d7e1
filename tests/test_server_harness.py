"""The server tests' own promise: without a server they skip with a reason that says
how to enable them, except in CI, where they fail."""

import os
import subprocess

import pytest
from helpers import BIN, TESTS

UNREACHABLE_URL = "mysql+pymysql://root@127.0.0.1:9/mysql"  # the discard port: nothing listens

# A server asked for in a test's body, or by a fixture (server_database, as
# project_on does): a test module of its own, run with this suite's fixtures.
NEEDS_A_SERVER = """
def test_in_its_body(servers):
    servers("mysql")


def test_through_a_fixture(server_database):
    server_database("mysql")
"""
IN_TEST = ["-k", "in_its_body"]
IN_FIXTURE = ["-k", "through_a_fixture"]
UNSET = ({}, "export TEST_MYSQL_URL=mysql+pymysql://")
UNREACHABLE = (
    {"TEST_MYSQL_URL": UNREACHABLE_URL},
    "cannot reach mysql at mysql+pymysql://root@127.0.0.1:9",
)


# Each way of asking, and each way of missing, locally and in CI.
@pytest.mark.parametrize(
    ("selection", "missing", "ci"),
    [
        (IN_TEST, UNSET, ""),
        (IN_FIXTURE, UNREACHABLE, ""),
        (IN_FIXTURE, UNSET, "true"),
        (IN_TEST, UNREACHABLE, "true"),
    ],
    ids=[
        "in-test-unset-local",
        "in-fixture-unreachable-local",
        "in-fixture-unset-ci",
        "in-test-unreachable-ci",
    ],
)
def test_missing_server_skips_locally_and_fails_in_ci(tmp_path, selection, missing, ci):
    variables, says = missing
    (tmp_path / "test_needs_a_server.py").write_text(NEEDS_A_SERVER)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TEST_MYSQL_URL")}
    env.update(variables, CI=ci, PYTHONPATH=str(TESTS))
    # This suite's conftest.py, as a plugin: its fixtures, for a module outside it.
    plugins = ["-p", "conftest", "-p", "no:pytest_alembic", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [BIN / "python", "-m", "pytest", "-p", "no:xdist", *plugins, "-rsE", *selection],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert says in result.stdout, result.stdout
    if ci:
        assert result.returncode == 1
        assert "CI is set: server tests may not skip" in result.stdout
        assert "skipped" not in result.stdout.splitlines()[-1]
    else:
        assert result.returncode == 0
        assert "1 skipped" in result.stdout.splitlines()[-1]

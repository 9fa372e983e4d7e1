"""The server tests' own promise: without a server they skip with a reason that says
how to enable them, except in CI, where they fail."""

import os
import subprocess

import pytest
from helpers import BIN, TEMPLATE_ROOT

UNREACHABLE_URL = "mysql+pymysql://root@127.0.0.1:9/mysql"  # the discard port: nothing listens


# The server is asked for in the test's body, or by a fixture (project_on,
# server_database); the variable is unset, or names a server that is not there.
IN_TEST = ["tests/test_alembic_cli.py", "-k", "password and mysql"]
IN_FIXTURE = ["tests/test_autogenerate.py", "-k", "not_null and mysql"]
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
def test_missing_server_skips_locally_and_fails_in_ci(selection, missing, ci):
    variables, says = missing
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TEST_MYSQL_URL")}
    env.update(variables, CI=ci)
    result = subprocess.run(
        [BIN / "python", "-m", "pytest", "-p", "no:xdist", "-rsE", *selection],
        cwd=TEMPLATE_ROOT,
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

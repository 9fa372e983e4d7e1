"""The server tests' own promise: without a server they skip with a reason that says
how to enable them, except in CI, where they fail."""

import os
import subprocess

import pytest
from helpers import BIN, TEMPLATE_ROOT

UNREACHABLE = "mysql+pymysql://root@127.0.0.1:9/mysql"  # the discard port: nothing listens


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({}, "export TEST_MYSQL_URL=mysql+pymysql://"),
        ({"TEST_MYSQL_URL": UNREACHABLE}, "cannot reach mysql at mysql+pymysql://root@127.0.0.1:9"),
    ],
    ids=["unset", "unreachable"],
)
@pytest.mark.parametrize(
    "selection",
    [
        # The server is asked for in the test's body...
        ["tests/test_alembic_cli.py", "-k", "password and mysql"],
        # ...or by a fixture (project_on, server_database).
        ["tests/test_autogenerate.py", "-k", "new_model and mysql and noasync"],
    ],
    ids=["in-test", "in-fixture"],
)
@pytest.mark.parametrize("ci", ["", "true"], ids=["local", "ci"])
def test_missing_server_skips_locally_and_fails_in_ci(variables, says, selection, ci):
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

"""A PostgreSQL or MySQL project's own suite, with no test URL, runs on a throwaway
server of its kind, started from this machine's server binaries and gone at the
end; where none can start, it runs on SQLite and says so at its top and its end,
or in CI stops in one line.

PostgreSQL and MariaDB refuse to run as root: as root, these tests run the suite
as `nobody`, on a Python of the system's with this environment's packages."""

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from conftest import server_unavailable
from helpers import BIN, OWN_SUITE, own_suite_outcomes

# A test of the user's: where the tests ran, and the server's own data directory.
WHERE = """
import os
from pathlib import Path

from sqlalchemy import text

DATA_DIRECTORY = {"postgresql": "SHOW data_directory", "mysql": "SELECT @@datadir"}


def test_where_it_runs(on_test_database):
    def where(connection):
        name = connection.dialect.name
        return name, connection.scalar(text(DATA_DIRECTORY[name]))

    Path(os.environ["WHERE_IT_RAN"]).write_text(" ".join(on_test_database(where)))
"""
HEADER = "The tests run on a throwaway {name} server (MY_PROGRAM_TEST_DATABASE_URL names another)."
NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL or MariaDB"}
SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.fixture
def as_a_server_user():
    """as_a_server_user(project) -> (python, directory): the command that runs
    Python as a user a server accepts, and a directory that user may write. As
    this user; as root, as `nobody`, with the project and its HOME handed over."""
    shared = Path(tempfile.mkdtemp(prefix="as-nobody-"))  # pytest's are root's alone

    def prepare(project) -> tuple[list[str], Path]:
        if os.geteuid() != 0:
            return [sys.executable], shared
        system_python = shutil.which("python3", path="/usr/bin:/bin")
        if not system_python or not shutil.which("runuser"):
            server_unavailable("running the suite as nobody needs runuser and /usr/bin/python3")
        version = subprocess.run(
            [system_python, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if version != str(tuple(sys.version_info[:2])):
            server_unavailable(f"{system_python} is Python {version}, unlike this environment")
        # A virtual environment nobody may run (this one's Python may be under
        # /root), which sees this environment's packages.
        venv = shared / "venv"
        subprocess.run([system_python, "-m", "venv", "--without-pip", venv], check=True)
        (site_packages,) = venv.glob("lib/python*/site-packages")
        (site_packages / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        (venv / "bin" / "squawk").symlink_to(BIN / "squawk")  # a program, not a script
        for moved in (project.path, project.home):
            shutil.move(moved, shared / moved.name)
            moved.symlink_to(shared / moved.name)
        shared.chmod(0o755)
        subprocess.run(["chown", "-R", "nobody", shared], check=True)
        python = ["runuser", "-u", "nobody", "--", "env", f"HOME={shared / 'home'}"]
        return [*python, str(venv / "bin" / "python")], shared

    yield prepare
    shutil.rmtree(shared)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("database", "async_engine"),
    [("postgresql", False), ("mysql", True)],
    ids=["postgresql", "mysql-async"],
)
def test_the_suite_runs_on_a_throwaway_server_of_the_projects_kind(
    project, as_a_server_user, database, async_engine
):
    project = project(database=database, async_engine=async_engine)
    (project.path / "tests" / "test_where.py").write_text(WHERE)
    python, shared = as_a_server_user(project)
    where_it_ran = shared / "project" / "where.txt"

    result = project.run(
        *python,
        *OWN_SUITE,
        "-v",
        "-W",
        "error",
        check=False,
        cwd=shared / "project",
        env={"WHERE_IT_RAN": str(where_it_ran), "PYTHONPATH": str(shared / "project")},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert set(own_suite_outcomes(result.stdout).values()) <= {"PASSED", "SKIPPED"}, output
    assert HEADER.format(name=NAMES[database]) in result.stdout.splitlines()[:3], output
    assert "SQLite" not in output
    dialect, data_directory = where_it_ran.read_text().split()
    assert dialect == database
    assert not Path(data_directory).exists(), "the throwaway server's files stay behind"


@pytest.mark.slow
def test_a_server_that_does_not_start_stops_the_run_saying_why_once(project, as_a_server_user):
    """A pg_ctl that fails (here, one that always does): one line, not an error per
    test, and no traceback."""
    project = project(database="postgresql")
    python, shared = as_a_server_user(project)
    broken = shared / "broken"
    broken.mkdir(mode=0o755)
    (broken / "pg_ctl").write_text(
        "#!/bin/sh\necho 'pg_ctl: No space left on device' >&2\nexit 1\n"
    )
    (broken / "pg_ctl").chmod(0o755)

    result = project.run(
        *python,
        *OWN_SUITE,
        check=False,
        cwd=shared / "project",
        env={"PATH": f"{broken}:{os.environ['PATH']}", "PYTHONPATH": str(shared / "project")},
    )
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert output.count("The throwaway PostgreSQL server did not start") == 1, output
    assert f"{broken / 'pg_ctl'}" in output, "names what failed"
    assert "Traceback" not in output


@pytest.mark.skipif(os.geteuid() != 0, reason="only as root can no server start here")
def test_where_no_server_can_start_the_suite_says_so_or_stops_in_ci(project):
    """As root, where PostgreSQL refuses to run: the tests run on SQLite, and one
    line says why at the top and the end of the run; in CI, that line stops it."""
    project = project(database="postgresql")
    why = (
        "The tests ran on SQLite, not PostgreSQL: PostgreSQL refuses to run as root "
        "(run the tests as another user). Or set MY_PROGRAM_TEST_DATABASE_URL to a "
        "PostgreSQL database they may empty."
    )
    outcomes = project.own_suite()
    result = project.python(*OWN_SUITE, check=False)
    lines = result.stdout.splitlines()
    assert lines.count(why) == 2, result.stdout
    assert lines.index(why) < 5 and lines[::-1].index(why) < 3, result.stdout
    assert outcomes

    stopped = project.python(*OWN_SUITE, check=False, env={"CI": "true"})
    assert stopped.returncode == pytest.ExitCode.USAGE_ERROR, stopped.stdout + stopped.stderr
    assert stopped.stderr.strip() == "ERROR: " + why.replace(
        "The tests ran on SQLite, not PostgreSQL:",
        "CI is set, so the tests must run on PostgreSQL, but",
    ), stopped.stderr

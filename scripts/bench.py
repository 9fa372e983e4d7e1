"""`make bench`: what the template costs its users, as ratios against floors measured
in the same run, side by side (A B A B ..., after a warm-up), medians compared.

    python scripts/bench.py [--quick]

Times are shown for context; the verdict is the ratio against its target.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The tests' helpers: where the programs are, the shipped revisions, the isolation
# of git and Copier from the developer's own settings, and figure 8's long history.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import BIN, DRIVERNAMES, SEED_ACCOUNTS, isolated_environment
from helpers import TEMPLATE_ROOT as ROOT
from long_history import add_tables

# Inserting 100,000 accounts the way the seed revision does.
BULK_REVISION = '''
"""Insert 100,000 accounts, the seed revision's way."""

import datetime

import sqlalchemy as sa
from alembic import op

revision = "b0000000b001"
down_revision = "{seed}"
branch_labels = None
depends_on = None

account = sa.table(
    "account",
    sa.column("id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("create_date", sa.Date()),
)


def upgrade() -> None:
    day = datetime.date(2020, 1, 1)
    op.bulk_insert(
        account,
        [{"id": n, "name": f"Account {n}", "create_date": day} for n in range(4, 100_004)],
    )


def downgrade() -> None:
    op.execute(account.delete().where(account.c.id >= 4))
'''

# Figure 5: what an application pays at start-up, in a new process each time, on an
# up-to-date database: upgrade() at head, against the least an application can do to
# know it is at head, reading alembic_version with SQLAlchemy itself.
COLD_UPGRADE = "from my_program import migrations; migrations.upgrade()"
COLD_FLOOR = """
import os
from sqlalchemy import create_engine, text
engine = create_engine(os.environ["MY_PROGRAM_DATABASE_URL"])
with engine.connect() as connection:
    connection.execute(text("SELECT version_num FROM alembic_version")).all()
"""

# Figure 5a: the same in an async_engine project. Its floor reads through an async
# engine in an event loop, as the application would: the loop, SQLAlchemy's asyncio
# extension and aiosqlite's thread are the application's own costs, which it pays
# for its own queries anyway (a sync floor would charge them to the template), and
# a blocking read in a running loop is what upgrade_async() exists to avoid.
COLD_UPGRADE_ASYNC = (
    "import asyncio; from my_program import migrations; asyncio.run(migrations.upgrade_async())"
)
COLD_FLOOR_ASYNC = """
import asyncio, os
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

async def main():
    engine = create_async_engine(os.environ["MY_PROGRAM_DATABASE_URL"])
    async with engine.connect() as connection:
        (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    await engine.dispose()

asyncio.run(main())
"""

# A trivial revision, as many times as a long history needs.
TRIVIAL_REVISION = '''"""Revision {number}."""

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''

# Figure 8: the rendered project's own suite as its history grows, each revision
# adding a table and its model, over pytest-alembic's four built-in tests on a stock
# `alembic init` environment with the same models and revisions (its env.py taking
# pytest-alembic's connection, as pytest-alembic's setup asks). Sizes count the
# shipped revisions; the quick mode checks that the figure runs.
SUITE_SIZES, SUITE_SIZES_QUICK = (2, 50, 200), (2, 20)

# The floor's env.py: `alembic init`'s, with the models' metadata, and the engine
# pytest-alembic hands over in place of alembic.ini's URL.
STOCK_ENV_CHANGES = {
    "target_metadata = None": "from models import Base\n\ntarget_metadata = Base.metadata",
    "    connectable = engine_from_config(": (
        '    connectable = config.attributes.get("connection") or engine_from_config('
    ),
}

# Imported, with the plugin's own collection pointed at no file: under pytest 9 it
# fails (the rendered project imports them the same way).
STOCK_TESTS = """
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
"""

STOCK_PYTEST_INI = """[pytest]
pytest_alembic_tests_path = tests/pytest_alembic_builtin_tests_are_imported
"""

# The floor's database: a new SQLite file per test, or on PostgreSQL the database
# STOCK_DATABASE_URL names, emptied after each test as pytest-alembic's docs do.
STOCK_CONFTESTS = {
    "sqlite": """
import pytest
from sqlalchemy import create_engine


@pytest.fixture
def alembic_engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'test.db'}")
    yield engine
    engine.dispose()
""",
    "postgresql": """
import os

import pytest
from sqlalchemy import create_engine


@pytest.fixture
def alembic_engine():
    engine = create_engine(os.environ["STOCK_DATABASE_URL"])
    yield engine
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
""",
}
FIGURE_8 = {"sqlite": "8", "postgresql": "8b"}
# Figure 8b's server, as the tests name it.
SERVER_VARIABLE = "TEST_POSTGRESQL_URL"
# Named as the tests name theirs, which CI drops when a run was killed.
SUITE_DATABASES = ("tpl_bench_suite_ours", "tpl_bench_suite_stock")

# Revisions of the long history, the shipped ones included. In quick mode, fewer:
# `alembic upgrade head` over 1000 commits each one, which takes 3 to 15 s here.
LONG_HISTORY, LONG_HISTORY_QUICK = 1000, 100

# Runs inside the rendered project: the seed technique, on the project's SQLite
# driver, against sqlite3's executemany.
SEEDING = """
import datetime, os, sqlite3, statistics, sys, time
from alembic import command
from my_program import migrations
from my_program.migrations.runtime.database import DRIVERS

pairs, warmup, workdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ours_db, floor_db = f"{workdir}/seed-ours.db", f"{workdir}/seed-floor.db"

def seed_technique():
    os.environ["MY_PROGRAM_DATABASE_URL"] = f"{DRIVERS['sqlite']}:///{ours_db}"
    command.upgrade(migrations.alembic_config(), "{seed}")
    started = time.perf_counter()
    command.upgrade(migrations.alembic_config(), "+1")
    return time.perf_counter() - started

def executemany():
    connection = sqlite3.connect(floor_db)
    connection.execute(
        "CREATE TABLE account (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL,"
        " create_date DATE)"
    )
    connection.commit()
    started = time.perf_counter()
    day = datetime.date(2020, 1, 1).isoformat()
    with connection:
        connection.executemany(
            "INSERT INTO account (id, name, create_date) VALUES (?, ?, ?)",
            [(n, f"Account {n}", day) for n in range(4, 100_004)],
        )
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed

ours, floor = [], []
for index in range(warmup + pairs):
    for run, times, path in ((seed_technique, ours, ours_db), (executemany, floor, floor_db)):
        if os.path.exists(path):
            os.remove(path)
        elapsed = run()
        if index >= warmup:
            times.append(elapsed)
print(statistics.median(ours), statistics.median(floor))
"""


@dataclass
class Variant:
    """The rendered project's engine, and what its figures are measured against."""

    suffix: str  # after the figure's number: "" or "a"
    answers: tuple[str, ...]  # copier --data
    sqlite: str  # the SQLite URL scheme the project takes
    stock: str  # `alembic init -t` template of the floor
    cold_upgrade: str  # figure 5: the application's start-up
    cold_floor: str  # and its floor

    @property
    def label(self) -> str:
        return "async_engine: true" if self.suffix else "default answers"


VARIANTS = [
    Variant("", (), DRIVERNAMES["sync"]["sqlite"], "generic", COLD_UPGRADE, COLD_FLOOR),
    Variant(
        "a",
        ("async_engine=true",),
        DRIVERNAMES["async"]["sqlite"],
        "async",
        COLD_UPGRADE_ASYNC,
        COLD_FLOOR_ASYNC,
    ),
]


def run(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )


def files(directory: Path) -> set[Path]:
    """The files under a directory, relative to it."""
    return {path.relative_to(directory) for path in directory.rglob("*") if path.is_file()}


def side_by_side(ours: Callable, floor: Callable, pairs: int, warmup: int) -> tuple[float, float]:
    """Median seconds of each, run alternately so that drift hits both alike."""
    times: dict[Callable, list[float]] = {ours: [], floor: []}
    for index in range(warmup + pairs):
        for function in (ours, floor):
            started = time.perf_counter()
            function()
            if index >= warmup:
                times[function].append(time.perf_counter() - started)
    return statistics.median(times[ours]), statistics.median(times[floor])


def report(name: str, ours: float, floor: float, target: float | None, note: str = "") -> bool:
    """Print a figure; False when it is over its target (a figure without one never is)."""
    ratio = ours / floor
    verdict = "report only" if target is None else ("ok" if ratio <= target else "OVER TARGET")
    limit = "" if target is None else f" (target <= {target:g})"
    print(
        f"{name:<68} {ratio:6.2f}{limit:<16} {verdict:<12}"
        f" [{ours * 1000:8.1f} ms vs {floor * 1000:8.1f} ms]{note}"
    )
    return target is None or ratio <= target


class Bench:
    def __init__(self, workdir: Path, pairs: int, warmup: int):
        self.work = workdir
        self.pairs, self.warmup = pairs, warmup
        self.env = {
            **os.environ,
            **isolated_environment(workdir),
            "HOME": str(workdir / "home"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.env.pop("MY_PROGRAM_DATABASE_URL", None)
        (workdir / "home").mkdir()

    def measure(self, ours: Callable, floor: Callable) -> tuple[float, float]:
        return side_by_side(ours, floor, self.pairs, self.warmup)

    def rendering(self) -> bool:
        """Rendering: this template (its committed HEAD) against a plain template that
        writes the same files, verbatim and without questions. Copier's own cost per
        file written (a `git config` subprocess each) is then the floor's too."""
        ours_source = self.work / "template"
        run("git", "clone", "--quiet", ROOT, ours_source)
        floor_source = self.work / "plain-template"
        self.copier_copy(ours_source, floor_source / "template")
        (floor_source / "copier.yml").write_text("_subdirectory: template\n")
        add = ["add", "--all", "--force"]  # whatever the rendered .gitignore says
        for command in (["init", "--quiet"], add, ["commit", "--quiet", "-m", "1"]):
            run("git", *command, cwd=floor_source, env=self.env)
        destination = self.work / "rendered"

        def copy(source: Path) -> Callable:
            def render():
                shutil.rmtree(destination, ignore_errors=True)
                self.copier_copy(source, destination)

            return render

        ours, floor = self.measure(copy(ours_source), copy(floor_source))
        if files(destination) != files(floor_source / "template"):  # the floor's last
            raise SystemExit("figure 1: the plain template does not write the same files")
        name = "1. copier copy --defaults, over a plain template of the same files"
        return report(name, ours, floor, 1.15, f"  ({len(files(destination))} files)")

    def copier_copy(self, source: Path, destination: Path, *data: str) -> None:
        """`copier copy --defaults` of the source's HEAD (its working tree, if dirty)."""
        answers = [option for answer in data for option in ("--data", answer)]
        copy = ["copy", "--defaults", "--quiet", "--vcs-ref", "HEAD", *answers, source, destination]
        run(BIN / "copier", *copy, env=self.env)

    def render_project(self, name: str, *data: str) -> Path:
        """A project the other figures run: rendered from the working tree."""
        project = self.work / name
        self.copier_copy(ROOT, project, *data)
        return project

    def stock_environment(self, project: Path, template: str) -> Path:
        """`alembic init -t TEMPLATE` with the rendered project's revision files."""
        stock = self.work / f"stock-{template}"
        stock.mkdir()
        run(BIN / "alembic", "init", "-t", template, "migrations", cwd=stock, env=self.env)
        versions = project / "my_program" / "migrations" / "versions"
        for revision in versions.glob("*.py"):
            shutil.copy(revision, stock / "migrations" / "versions")
        return stock

    def alembic_commands(self, project: Path, stock: Path, variant: Variant) -> bool:
        """`alembic upgrade head` on a fresh SQLite file, and `alembic current` on an
        up-to-date one: the rendered project against a stock `alembic init`."""
        ours_db, floor_db = self.work / "ours.db", self.work / "stock.db"
        ours_env = {**self.env, "MY_PROGRAM_DATABASE_URL": f"{variant.sqlite}:///{ours_db}"}
        ini = stock / "alembic.ini"
        stock_url = f"{variant.sqlite}:///{floor_db}"
        ini.write_text(ini.read_text().replace("driver://user:pass@localhost/dbname", stock_url))

        def alembic(cwd, env, database, *args, fresh=False) -> Callable:
            def command():
                if fresh:
                    database.unlink(missing_ok=True)
                run(BIN / "alembic", *args, cwd=cwd, env=env)

            return command

        ours, floor = self.measure(
            alembic(project, ours_env, ours_db, "upgrade", "head", fresh=True),
            alembic(stock, self.env, floor_db, "upgrade", "head", fresh=True),
        )
        floor_name = f"alembic init -t {variant.stock}"
        name = f"2{variant.suffix}. alembic upgrade head (fresh SQLite), over {floor_name}"
        ok = report(name, ours, floor, 1.05)
        ours, floor = self.measure(
            alembic(project, ours_env, ours_db, "current"),
            alembic(stock, self.env, floor_db, "current"),
        )
        name = f"3{variant.suffix}. alembic current (up to date), over {floor_name}"
        return report(name, ours, floor, 1.05) and ok

    def import_models(self, project: Path) -> bool:
        imported = run(
            BIN / "python",
            "-c",
            "import sys, my_program.models; print('alembic' in sys.modules)",
            cwd=project,
            env=self.env,
        ).stdout.strip()
        if imported != "False":
            print("4. import my_program.models imports Alembic: OVER TARGET")
            return False

        def importing(module: str) -> Callable:
            return lambda: run(BIN / "python", "-c", f"import {module}", cwd=project, env=self.env)

        ours, floor = self.measure(importing("my_program.models"), importing("sqlalchemy.orm"))
        name = "4. import my_program.models (no Alembic), over sqlalchemy.orm"
        return report(name, ours, floor, 1.05)

    def in_process(
        self, project: Path, script: str, name: str, target: float | None, variant: Variant
    ) -> bool:
        url = f"{variant.sqlite}:///{self.work / 'in-process.db'}"
        env = {**self.env, "MY_PROGRAM_DATABASE_URL": url}
        output = run(
            BIN / "python", "-c", script, self.pairs, self.warmup, self.work, cwd=project, env=env
        ).stdout
        ours, floor = map(float, output.split())
        return report(name, ours, floor, target)

    def cold_start(self, project: Path, database: Path, variant: Variant, label: str) -> bool:
        """Figure 5: a new process for each run, on an up-to-date database."""
        env = {**self.env, "MY_PROGRAM_DATABASE_URL": f"{variant.sqlite}:///{database}"}
        # Bytecode caches, as an installed application has them: the warm-up writes them.
        env.pop("PYTHONDONTWRITEBYTECODE")

        def python(script: str) -> Callable:
            return lambda: run(BIN / "python", "-c", script, cwd=project, env=env)

        ours, floor = self.measure(python(variant.cold_upgrade), python(variant.cold_floor))
        probe = f"import sys\n{variant.cold_upgrade}\nprint('alembic' in sys.modules)"
        imported = run(BIN / "python", "-c", probe, cwd=project, env=env).stdout.strip()
        note = "  (imports Alembic)" if imported == "True" else "  (imports no Alembic)"
        call = "upgrade_async()" if variant.suffix else "upgrade()"
        name = f"5{variant.suffix}. cold {call} at head, {label}, over a bare read"
        return report(name, ours, floor, 1.1, note)

    def long_history(self, project: Path, variant: Variant, size: int) -> tuple[Path, Path]:
        """A copy of the project with `size` revisions, and its database at head.

        The extra revisions are trivial and linear, after the seed revision. The last
        is written by `alembic revision`, as a user writes one, so that whatever the
        project keeps in step with its revision files is up to date. Every variant
        renders the same revisions, and their copies get the same identifiers: the
        database is brought to head once, by the first."""
        copy = self.work / f"{project.name}-{size}"
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns("__pycache__"))
        versions = copy / "my_program" / "migrations" / "versions"
        shipped = len(list(versions.glob("*.py")))
        down_revision = SEED_ACCOUNTS
        for number in range(shipped + 1, size):
            revision = f"c{number:011x}"
            (versions / f"2026_12_01_0000-{revision}_revision_{number}.py").write_text(
                TRIVIAL_REVISION.format(
                    number=number, revision=revision, down_revision=down_revision
                )
            )
            down_revision = revision
        new = ["revision", "-m", f"revision {size}", "--rev-id", f"c{size:011x}"]
        run(BIN / "alembic", *new, cwd=copy, env=self.env)
        database = self.work / f"history-{size}.db"
        if not database.exists():
            env = {**self.env, "MY_PROGRAM_DATABASE_URL": f"{variant.sqlite}:///{database}"}
            started = time.perf_counter()
            run(BIN / "alembic", "upgrade", "head", cwd=copy, env=env)
            elapsed = time.perf_counter() - started
            print(f"   ({size} revisions: `alembic upgrade head` once, {elapsed:.1f} s)")
        return copy, database

    def project_figures(self, variant: Variant, quick: bool) -> bool:
        """Figures 2 to 6 for one kind of rendered project."""
        project = self.render_project(f"project{variant.suffix}", *variant.answers)
        stock = self.stock_environment(project, variant.stock)
        ok = self.alembic_commands(project, stock, variant)
        if not variant.suffix:  # the models are the same in every variant
            ok &= self.import_models(project)
        database = self.work / f"cold{variant.suffix}.db"
        url = f"{variant.sqlite}:///{database}"
        env = {**self.env, "MY_PROGRAM_DATABASE_URL": url}
        run(BIN / "alembic", "upgrade", "head", cwd=project, env=env)
        ok &= self.cold_start(project, database, variant, "2 revisions")
        size = LONG_HISTORY_QUICK if quick else LONG_HISTORY
        long_project, long_database = self.long_history(project, variant, size)
        ok &= self.cold_start(long_project, long_database, variant, f"{size} revisions")
        (project / "my_program" / "migrations" / "versions" / "bulk.py").write_text(
            textwrap.dedent(BULK_REVISION).replace("{seed}", SEED_ACCOUNTS)
        )
        pairs, warmup = self.pairs, self.warmup
        self.pairs, self.warmup = (1, 0) if quick else (5, 1)
        name = f"6{variant.suffix}. seeding 100,000 rows (op.bulk_insert), over executemany"
        seeding = SEEDING.replace("{seed}", SEED_ACCOUNTS)
        ok &= self.in_process(project, seeding, name, None, variant)
        self.pairs, self.warmup = pairs, warmup
        return ok

    def suite_growth(self, quick: bool, database: str = "sqlite") -> bool:
        """Figure 8 (8b on PostgreSQL): the rendered suite at each size, over the
        stock built-ins, each on a database of its own."""
        figure = FIGURE_8[database]
        admin = os.environ.get(SERVER_VARIABLE) if database == "postgresql" else None
        if database == "postgresql" and not admin:
            print(f"{figure}. not measured: set {SERVER_VARIABLE} to a server's URL")
            return True
        project = self.render_project(f"suite-project-{database}", f"database={database}")
        env = {**self.env}
        if admin:  # the suites empty their databases after each test
            env["MY_PROGRAM_TEST_DATABASE_URL"] = server_database(admin, SUITE_DATABASES[0])
            env["STOCK_DATABASE_URL"] = server_database(admin, SUITE_DATABASES[1])
        try:
            return self.suites_side_by_side(project, database, env, quick)
        finally:
            for name in SUITE_DATABASES if admin else ():
                server_database(admin, name, create=False)

    def suites_side_by_side(self, project: Path, database: str, env: dict, quick: bool) -> bool:
        figure = FIGURE_8[database]
        sizes = SUITE_SIZES_QUICK if quick else SUITE_SIZES
        pairs = 1 if quick else 3
        pytest = [BIN / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        pytest += ["-p", "no:xdist", "-p", "no:copie"]  # this environment's, not theirs

        def suite(cwd: Path, *args: str) -> Callable:
            return lambda: run(*pytest, *args, cwd=cwd, env=env)

        times, ok = {}, True
        for size in sizes:
            ours, stock = self.history_of_tables(project, size, database)
            # Once untimed, as a warm-up and to see that both pass: 4 built-ins.
            summaries = [suite(cwd)().stdout.strip().splitlines()[-1] for cwd in (ours, stock)]
            if "failed" in summaries[0] or not summaries[1].startswith("4 passed"):
                raise SystemExit(f"figure {figure}, {size} revisions: {summaries}")
            times[size] = side_by_side(suite(ours), suite(stock), pairs, warmup=0)
            target = 1.0 if size == max(sizes) and database == "sqlite" else None
            name = (
                f"{figure}. the rendered suite on {database}, {size} revisions,"
                " over pytest-alembic's built-ins"
            )
            ok &= report(name, *times[size], target)
        small, large = sorted(sizes)[-2:]
        growth = [times[large][side] / times[small][side] for side in (0, 1)]
        print(
            f"{figure}. growth from {small} to {large} revisions: ours {growth[0]:.1f}x, "
            f"the built-ins {growth[1]:.1f}x (linear: {large / small:.1f}x)"
        )
        return ok and (growth[0] <= large / small or database != "sqlite")

    def history_of_tables(self, project: Path, size: int, database: str) -> tuple[Path, Path]:
        """Copies of the project, and of a stock environment, whose history has `size`
        revisions: the shipped ones, then one table and its model each."""
        ours = self.work / f"suite-{database}-{size}"
        shutil.copytree(project, ours, ignore=shutil.ignore_patterns("__pycache__"))
        versions = ours / "my_program" / "migrations" / "versions"
        models = ours / "my_program" / "models.py"
        add_tables(ours / "my_program", range(len(list(versions.glob("*.py"))) + 1, size + 1))
        run(BIN / "python", "-m", "my_program.migrations.history", "record", cwd=ours, env=self.env)
        stock = self.work / f"suite-stock-{database}-{size}"
        stock.mkdir()
        run(BIN / "alembic", "init", "-t", "generic", "migrations", cwd=stock, env=self.env)
        env_py = stock / "migrations" / "env.py"
        source = env_py.read_text()
        for before, after in STOCK_ENV_CHANGES.items():
            if before not in source:
                raise SystemExit(f"figure 8: alembic init's env.py has no {before.strip()!r}")
            source = source.replace(before, after, 1)
        env_py.write_text(source)
        for revision in versions.glob("*.py"):
            shutil.copy(revision, stock / "migrations" / "versions")
        shutil.copy(models, stock / "models.py")
        (stock / "tests").mkdir()
        (stock / "tests" / "conftest.py").write_text(STOCK_CONFTESTS[database])
        (stock / "tests" / "test_migrations.py").write_text(STOCK_TESTS)
        (stock / "pytest.ini").write_text(STOCK_PYTEST_INI)
        return ours, stock

    def suite(self) -> None:
        subsets = (("fast subset (-m 'not slow')", ["-m", "not slow"]), ("whole suite", []))
        for label, args in subsets:
            started = time.perf_counter()
            result = subprocess.run(
                [BIN / "python", "-m", "pytest", "-n", "auto", "-q", *args],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
            summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "?"
            print(f"7. the template's {label:<28} {elapsed:6.1f} s wall  ({summary.strip('= ')})")


def server_database(admin_url: str, name: str, create: bool = True) -> str:
    """A new, empty database on the server admin_url reaches (or none of that name,
    with create=False): its URL."""
    from sqlalchemy import create_engine, make_url

    url = make_url(admin_url).set(drivername=DRIVERNAMES["sync"]["postgresql"])
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if create:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few pairs and no suite timing: checks the benchmark still runs",
    )
    options = parser.parse_args()
    pairs, warmup = (3, 1) if options.quick else (15, 3)
    print(f"{pairs} pairs after {warmup} warm-up, medians; ratio = template / floor")
    if options.quick:
        sizes = f"{LONG_HISTORY_QUICK} revisions, {LONG_HISTORY} in full mode"
        print(f"quick mode: the long history has {sizes}")
    print()
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        bench = Bench(Path(work), pairs, warmup)
        ok = bench.rendering()
        for variant in VARIANTS:
            print(f"-- the rendered project, {variant.label}")
            ok &= bench.project_figures(variant, options.quick)
        print("-- the rendered project's own suite, as its history grows")
        ok &= bench.suite_growth(options.quick)
        ok &= bench.suite_growth(options.quick, "postgresql")
        if options.quick:
            print("7. the template's suite: not timed in quick mode")
        else:
            bench.suite()
    print("\nall targets hold" if ok else "\nsome figures are over their targets")
    return 0 if ok or options.quick else 1


if __name__ == "__main__":
    sys.exit(main())

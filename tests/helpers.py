"""What the template's tests share: the answer matrix, the shipped revisions, and
a Project that runs the real programs in a rendered project."""

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import yaml
from sqlalchemy import URL, Engine, create_engine, inspect, make_url, pool, text

TESTS = Path(__file__).resolve().parent
TEMPLATE_ROOT = TESTS.parent
# What the tests add to a rendered project or run in it: programs, models,
# revisions (life/: a team's second day), and tests of the runtime's Python API.
FIXTURES = TESTS / "fixtures"
PROGRAMS = FIXTURES / "programs"
MODELS = FIXTURES / "models"
REVISIONS = FIXTURES / "revisions"
LIFE = FIXTURES / "life"
PROJECT_TESTS = FIXTURES / "project_tests"
COPIER_YML = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
# What a user is asked; when: false entries are constants and derived values.
QUESTIONS = {
    key
    for key, spec in COPIER_YML.items()
    if not key.startswith("_") and spec.get("when", True) is not False
}
BIN = Path(sys.executable).parent  # the real copier, alembic, ruff of this environment
# A rendered project's own test suite, as its users run it: without the plugins of
# this environment that their projects do not have (they cost a second a run).
OWN_SUITE = ["-m", "pytest", "-p", "no:cacheprovider", "-p", "no:copie", "-p", "no:xdist"]


def own_suite_outcomes(verbose_output: str) -> dict[str, str]:
    """{test id: PASSED, SKIPPED, FAILED or ERROR}, from `pytest -v` output: one for
    every test pytest collected."""
    outcomes = dict(
        re.findall(r"^(\S+::\S+) (PASSED|SKIPPED|FAILED|ERROR|XFAIL|XPASS)", verbose_output, re.M)
    )
    collected = re.findall(r"\bcollected (\d+) items?", verbose_output)
    assert collected and len(outcomes) == int(collected[0]), verbose_output
    return outcomes


def function_of(test_id: str) -> str:
    """test_x, of tests/test_file.py::test_x[param]."""
    return test_id.split("::")[-1].split("[")[0]


# The revisions the template ships, in order. They never change: users' databases
# record these ids.
CREATE_ACCOUNT = "6ed9f93df750"
SEED_ACCOUNTS = "89feb189b99d"
SHIPPED_FILES = {
    CREATE_ACCOUNT: f"2026_11_24_0000-{CREATE_ACCOUNT}_create_account_table.py",
    SEED_ACCOUNTS: f"2026_11_24_0001-{SEED_ACCOUNTS}_seed_accounts.py",
}
SEEDED_ROWS = [
    (1, "John Smith", "2010-10-05"),
    (2, "Ed Williams", "2007-05-27"),
    (3, "Wendy Jones", "2008-08-15"),
]


def isolated_environment(directory: Path) -> dict[str, str]:
    """Variables that keep the developer's git identity and Copier settings out of
    what the real programs do: an empty Copier settings file, made in `directory`,
    and a fixed git author. The tests and the benchmark run with them."""
    settings = directory / "copier-settings.yml"
    settings.write_text("{}\n")
    identity = {
        f"GIT_{role}_{part}": value
        for role in ("AUTHOR", "COMMITTER")
        for part, value in (("NAME", "Template Tests"), ("EMAIL", "tests@example.com"))
    }
    return {"COPIER_SETTINGS_PATH": str(settings), **identity}


def answer_matrix() -> list[dict]:
    """Every database choice crossed with seed_data and async_engine, read from copier.yml."""
    databases = list(COPIER_YML["database"]["choices"].values())
    return [
        {"database": database, "seed_data": seed_data, "async_engine": async_engine}
        for database, seed_data, async_engine in product(databases, [True, False], [False, True])
    ]


def answers_id(answers: dict) -> str:
    """A readable test id: sqlite-seed, postgresql-noseed, ..."""
    parts = []
    for key, value in answers.items():
        if isinstance(value, bool):
            parts.append(key.split("_")[0] if value else "no" + key.split("_")[0])
        else:
            parts.append(str(value))
    return "-".join(parts)


MATRIX = answer_matrix()
# Answer sets that change which files are rendered, what the docs list, or how long
# their lines are; with readable ids.
SHAPES = [
    {},
    {"program_name": "a_really_quite_long_program_name_for_stress"},
    {"async_engine": True, "seed_data": False},
    {"database": "postgresql", "async_engine": True},
    {"database": "mysql", "github_actions": False},
    {"existing_history": True, "database": "postgresql"},
]
SHAPE_IDS = [answers_id(answers) or "defaults" for answers in SHAPES]
SEED_VARIANTS = [{"seed_data": True}, {"seed_data": False}]
ENGINE_VARIANTS = [{"async_engine": False}, {"async_engine": True}]
# The driver of each database, for each kind of engine ("sync", "async"): copier.yml's.
DRIVERNAMES = yaml.safe_load(COPIER_YML["drivernames"]["default"])

# The servers, reached with admin rights through these variables; each test gets a
# database of its own on them.
SERVERS = {
    "postgresql": ("TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mysql": ("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/mysql"),
}
BACKENDS = ["sqlite", *SERVERS]


@dataclass
class Project:
    """A writable copy of a rendered project, run as a user would: real programs,
    a private HOME, the package importable from anywhere (as `uv sync` installs it),
    and the database URL only where a test sets it."""

    path: Path
    home: Path
    answers: dict
    env: dict = field(default_factory=dict)

    @classmethod
    def at(cls, directory: Path, answers: dict) -> "Project":
        """The project that is (or will be) in directory/project, its HOME directory/home."""
        (directory / "home").mkdir()
        env = {
            "HOME": str(directory / "home"),
            "XDG_DATA_HOME": None,
            # No bytecode: a test may rewrite a module within the second it was
            # compiled, at the same size, and Python would run the stale bytecode.
            "PYTHONDONTWRITEBYTECODE": "1",
            # This repository's CI is not the project's: a test says when it is.
            "CI": None,
        }
        project = cls(directory / "project", directory / "home", answers, env)
        # Only a test decides which database a project reaches.
        project.env[project.url_env] = project.env[project.test_url_env] = None
        return project

    @classmethod
    def copied(cls, source: Path, directory: Path, answers: dict) -> "Project":
        """A copy of the project at `source`, in directory/project."""
        shutil.copytree(source, directory / "project", symlinks=True)
        return cls.at(directory, answers)

    @classmethod
    def copied_from_template(
        cls, directory: Path, template: Path, ref: str, answers: dict
    ) -> "Project":
        """`copier copy` of the template at `ref`, with the answers, into
        directory/project, which is then a git repository with one commit."""
        project = cls.at(directory, answers)
        copy = [BIN / "copier", "copy", "--defaults", "--quiet", "--vcs-ref", ref]
        for key, value in answers.items():
            copy += ["--data", f"{key}={str(value).lower()}"]
        project.run(*copy, template, project.path, cwd=directory)
        git("init", "--quiet", cwd=project.path)
        git_commit_all(project.path, "Copied from the template")
        return project

    def copy_to(self, directory: Path) -> "Project":
        """This project, its git history and its HOME (its default database) copied."""
        copy = Project.copied(self.path, directory, self.answers)
        shutil.copytree(self.home, copy.home, dirs_exist_ok=True)
        return copy

    @property
    def program_name(self) -> str:
        return self.answers.get("program_name", "my_program")

    @property
    def url_env(self) -> str:
        return f"{self.program_name.upper()}_DATABASE_URL"

    @property
    def test_url_env(self) -> str:
        return f"{self.program_name.upper()}_TEST_DATABASE_URL"

    @property
    def async_engine(self) -> bool:
        return self.answers.get("async_engine", False)

    @property
    def drivers(self) -> dict[str, str]:
        """The driver of each database, for this project's kind of engine."""
        return DRIVERNAMES["async" if self.async_engine else "sync"]

    def url_for(self, url: str) -> str:
        """`url`, with the driver the project takes for its database."""
        parsed = make_url(url)
        parsed = parsed.set(drivername=self.drivers[parsed.get_backend_name()])
        return parsed.render_as_string(hide_password=False)

    @property
    def default_database(self) -> Path:
        return self.home / ".local" / "share" / self.program_name / "main.db"

    @property
    def versions(self) -> Path:
        return self.path / self.program_name / "migrations" / "versions"

    def environment(self, env=None) -> dict:
        """The environment the project's programs run in; None removes a variable."""
        merged = {**os.environ, "PYTHONPATH": str(self.path), **self.env, **(env or {})}
        return {name: value for name, value in merged.items() if value is not None}

    def run(self, *args, cwd=None, check=True, env=None) -> subprocess.CompletedProcess:
        """Run a command; with check, fail the test with its output if it fails."""
        result = subprocess.run(
            [str(arg) for arg in args],
            cwd=cwd or self.path,
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check:
            assert result.returncode == 0, (
                f"{' '.join(map(str, args))} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            )
        return result

    def start(self, *args, env=None, **popen) -> subprocess.Popen:
        """Start a command in the background, its output captured as text."""
        return subprocess.Popen(
            [str(arg) for arg in args],
            cwd=self.path,
            env=self.environment(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **popen,
        )

    def alembic(self, *args, **kwargs) -> subprocess.CompletedProcess:
        return self.run(BIN / "alembic", *args, **kwargs)

    def python(self, *args, **kwargs) -> subprocess.CompletedProcess:
        return self.run(BIN / "python", *args, **kwargs)

    def own_suite(self, *args, env=None, skipped: set[str] = frozenset()) -> dict[str, str]:
        """Run the project's own suite as its users do (warnings as errors): every test
        it collects passes, but those named in `skipped`, which skip. Its outcomes."""
        result = self.python(*OWN_SUITE, "-v", "-W", "error", *args, env=env, check=False)
        outcomes = own_suite_outcomes(result.stdout)
        expected = {
            test: "SKIPPED" if function_of(test) in skipped else "PASSED" for test in outcomes
        }
        assert outcomes == expected, result.stdout + result.stderr
        names = {function_of(test) for test in outcomes}
        assert {"test_upgrade", "test_model_definitions_match_ddl"} <= names, result.stdout
        return outcomes

    def program_command(self, name: str, *args) -> list:
        """The command that runs tests/programs/<name>.py on this project's package."""
        return [BIN / "python", PROGRAMS / f"{name}.py", self.program_name, *args]

    def program(self, name: str, *args, **kwargs) -> subprocess.CompletedProcess:
        return self.run(*self.program_command(name, *args), **kwargs)

    @property
    def models(self) -> Path:
        return self.path / self.program_name / "models.py"

    def add_models(self, fragment: Path) -> None:
        """Add the classes of a tests/models/ file to models.py, with its imports
        (merged by ruff, as a user's editor would)."""
        lines = fragment.read_text().splitlines(keepends=True)
        start = next(i for i, line in enumerate(lines) if line.startswith("class "))
        imports = [
            line
            for line in lines[:start]
            if line.startswith(("import ", "from ")) and " import Base" not in line
        ]
        source = self.models.read_text()
        end = source.index("\n\n", source.index("\nfrom sqlalchemy")) + 1
        source = source[:end] + "".join(imports) + source[end:] + "\n\n" + "".join(lines[start:])
        self.models.write_text(source)
        self.run(BIN / "ruff", "check", "--fix", "--quiet", "--select", "I", self.models)
        self.run(BIN / "ruff", "format", "--quiet", self.models)

    def add_a_model_and_its_revision(self, fragment: Path, message: str) -> Path:
        """What a user does first: the database at head, then a model of theirs, its
        revision autogenerated and applied. The revision's file."""
        self.alembic("upgrade", "head")
        self.add_models(fragment)
        before = set(self.versions.glob("*.py"))
        self.alembic("revision", "--autogenerate", "-m", message)
        self.alembic("upgrade", "head")
        (revision,) = set(self.versions.glob("*.py")) - before
        return revision

    def add_revision(self, source: Path) -> Path:
        """Copy a revision file into the project's versions/ (head.txt, which
        records the head, is then stale: see record_head)."""
        target = self.versions / source.name
        shutil.copy(source, target)
        return target

    def record_head(self) -> None:
        """What a user does after writing a revision by hand: record the head."""
        self.python("-m", f"{self.program_name}.migrations.history", "record")


def git(*args, cwd) -> str:
    """Run git; fail with its message if it fails."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"git {' '.join(map(str, args))}: {result.stderr}"
    return result.stdout


def git_commit_all(repository, message: str) -> None:
    git("add", "--all", cwd=repository)
    git("commit", "--quiet", "--message", message, cwd=repository)


def leftovers(path: Path) -> list[str]:
    """Conflict markers and rejected hunks: Copier exits 0 even when it leaves them."""
    found = [str(p.relative_to(path)) for p in path.rglob("*.rej")]
    for file in path.rglob("*"):
        if file.is_file() and ".git" not in file.parts:
            text = file.read_text(errors="replace")
            if "<<<<<<< " in text or ">>>>>>> " in text:
                found.append(str(file.relative_to(path)))
    return found


@contextmanager
def engine_for(url, **options) -> Iterator[Engine]:
    """An engine without a pool, disposed of afterwards: tests leave no connection open."""
    engine = create_engine(url, poolclass=pool.NullPool, **options)
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass
class Database:
    """A database a test migrates, read through SQLAlchemy, not through the project."""

    url: str

    @classmethod
    def sqlite_file(cls, path: Path) -> "Database":
        return cls(URL.create("sqlite", database=str(path)).render_as_string())

    def execute(self, sql: str, **params) -> list[tuple]:
        with engine_for(self.url) as engine, engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []

    def tables(self) -> set[str]:
        with engine_for(self.url) as engine:
            return set(inspect(engine).get_table_names())

    def unique_constraints(self, table: str) -> set[str]:
        with engine_for(self.url) as engine:
            return {uq["name"] for uq in inspect(engine).get_unique_constraints(table)}

    def index_is_valid(self, table: str, name: str) -> bool:
        """The index exists, and on PostgreSQL was built completely (a concurrent
        build that failed leaves an invalid one behind)."""
        with engine_for(self.url) as engine:
            if name not in {index["name"] for index in inspect(engine).get_indexes(table)}:
                return False
            if engine.dialect.name != "postgresql":
                return True
            with engine.connect() as connection:
                query = text(
                    "SELECT indisvalid FROM pg_index WHERE indexrelid = CAST(:i AS regclass)"
                )
                return connection.scalar(query, {"i": name})

    def version(self) -> str | None:
        """The revision alembic_version records (one head)."""
        rows = self.execute("SELECT version_num FROM alembic_version")
        return rows[0][0] if rows else None

    def applied(self) -> dict[str, str]:
        """The record of applied revisions: how each one came to be there."""
        rows = self.execute("SELECT revision, how FROM alembic_version_applied")
        return dict(rows)

    def accounts(self) -> list[tuple]:
        """The account rows, dates as ISO strings whatever the driver returns."""
        rows = self.execute("SELECT id, name, create_date FROM account ORDER BY id")
        return [(id_, name, date and str(date)) for id_, name, date in rows]


@dataclass
class Server:
    """A database server reached with admin rights, where tests make what they need."""

    kind: str
    admin_url: URL

    def execute(self, *statements: str) -> None:
        with (
            engine_for(self.admin_url, isolation_level="AUTOCOMMIT") as engine,
            engine.connect() as connection,
        ):
            for statement in statements:
                # psycopg and PyMySQL read "%" as a placeholder, even with no parameters.
                connection.exec_driver_sql(statement.replace("%", "%%"))

    def setting(self, name: str) -> str:
        """A server setting: PostgreSQL's SHOW name, MySQL's @@name."""
        query = f"SHOW {name}" if self.kind == "postgresql" else f"SELECT @@{name}"
        with engine_for(self.admin_url) as engine, engine.connect() as connection:
            return connection.exec_driver_sql(query).scalar()

    def url(self, database: str) -> str:
        """The admin's URL to another database on this server."""
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def create_database(self) -> str:
        name = f"tpl_{uuid.uuid4().hex[:12]}"
        self.execute(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        force = " WITH (FORCE)" if self.kind == "postgresql" else ""
        self.execute(f"DROP DATABASE IF EXISTS {name}{force}")

    def create_user(self, name: str, password: str, database: str) -> None:
        """A login that owns `database`, with a password (no quote characters in it)."""
        if self.kind == "postgresql":
            self.execute(
                f"CREATE ROLE {name} LOGIN PASSWORD '{password}'",
                f"ALTER DATABASE {database} OWNER TO {name}",
            )
        else:
            self.execute(
                f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'",
                f"GRANT ALL ON {database}.* TO '{name}'@'%'",
            )

    def drop_user(self, name: str) -> None:
        if self.kind == "postgresql":
            self.execute(f"DROP ROLE IF EXISTS {name}")
        else:
            self.execute(f"DROP USER IF EXISTS '{name}'@'%'")


def fenced_blocks(markdown: str) -> list[tuple[str, list[str]]]:
    """(language, lines) of each fenced code block; one indented in a list item
    comes out dedented."""
    fences = re.findall(r"^( *)```(\w*)\n(.*?)^\1```", markdown, re.M | re.S)
    return [
        (language, [line.removeprefix(indent) for line in body.splitlines()])
        for indent, language, body in fences
    ]


def commands(lines: list[str]) -> list[str]:
    """The shell commands of a block, without comments."""
    return [line.split(" #")[0].strip() for line in lines if not line.lstrip().startswith("#")]

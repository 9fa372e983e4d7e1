"""What the template's tests share: the answer matrix, the shipped revisions, and
a Project that runs the real programs in a rendered project."""

import os
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

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
# What a user is asked; when: false entries are constants and derived values.
QUESTIONS = {
    key
    for key, spec in COPIER_YML.items()
    if not key.startswith("_") and spec.get("when", True) is not False
}
BIN = Path(sys.executable).parent  # the real copier, alembic, ruff of this environment

# The revisions the template ships, in order. They never change: users' databases
# record these ids.
CREATE_ACCOUNT = "6ed9f93df750"
SEED_ACCOUNTS = "89feb189b99d"
SEEDED_ROWS = [
    (1, "John Smith", "2010-10-05"),
    (2, "Ed Williams", "2007-05-27"),
    (3, "Wendy Jones", "2008-08-15"),
]


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
SEED_VARIANTS = [{"seed_data": True}, {"seed_data": False}]
ENGINE_VARIANTS = [{"async_engine": False}, {"async_engine": True}]
# The driver an async_engine project's URL names, for each database.
ASYNC_DRIVERNAMES = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+aiomysql",
}

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
    a private HOME, and the database URL only where a test sets it."""

    path: Path
    home: Path
    answers: dict
    env: dict = field(default_factory=dict)

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

    def url_for(self, url: str) -> str:
        """`url`, with the driver the project takes: an asyncio one if async_engine."""
        parsed = make_url(url)
        if self.async_engine:
            parsed = parsed.set(drivername=ASYNC_DRIVERNAMES[parsed.get_backend_name()])
        return parsed.render_as_string(hide_password=False)

    @property
    def default_database(self) -> Path:
        return self.home / ".local" / "share" / self.program_name / "main.db"

    @property
    def versions(self) -> Path:
        return self.path / self.program_name / "migrations" / "versions"

    def environment(self, env=None) -> dict:
        """The environment the project's programs run in; None removes a variable."""
        merged = {**os.environ, **self.env, **(env or {})}
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

    def alembic(self, *args, **kwargs) -> subprocess.CompletedProcess:
        return self.run(BIN / "alembic", *args, **kwargs)

    def python(self, *args, **kwargs) -> subprocess.CompletedProcess:
        return self.run(BIN / "python", *args, **kwargs)


def git(*args, cwd) -> str:
    """Run git; fail with its message if it fails."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"git {' '.join(map(str, args))}: {result.stderr}"
    return result.stdout


def git_commit_all(repository, message: str) -> None:
    git("add", "--all", cwd=repository)
    git("commit", "--quiet", "--message", message, cwd=repository)


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

"""What the template's tests share: the answer matrix, the shipped revisions, and
a Project that runs the real programs in a rendered project."""

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import yaml

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
    """Every database choice crossed with seed_data on and off, read from copier.yml."""
    databases = list(COPIER_YML["database"]["choices"].values())
    return [
        {"database": database, "seed_data": seed_data}
        for database, seed_data in product(databases, [True, False])
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
    def default_database(self) -> Path:
        return self.home / ".local" / "share" / self.program_name / "main.db"

    @property
    def versions(self) -> Path:
        return self.path / self.program_name / "migrations" / "versions"

    def run(self, *args, cwd=None, check=True, env=None) -> subprocess.CompletedProcess:
        """Run a command; with check, fail the test with its output if it fails."""
        full_env = {**os.environ, **self.env, **(env or {})}
        for name, value in list(full_env.items()):
            if value is None:
                del full_env[name]
        result = subprocess.run(
            [str(arg) for arg in args],
            cwd=cwd or self.path,
            env=full_env,
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


def sqlite_rows(database: Path, query: str) -> list[tuple]:
    """Rows from an SQLite file, read with the standard library, not the project."""
    with sqlite3.connect(database) as connection:
        return connection.execute(query).fetchall()


def sqlite_tables(database: Path) -> set[str]:
    return {
        row[0]
        for row in sqlite_rows(database, "SELECT name FROM sqlite_master WHERE type = 'table'")
    }


def accounts(database: Path) -> list[tuple]:
    return sqlite_rows(database, "SELECT id, name, create_date FROM account ORDER BY id")

"""Upgrade a database whose dialect the migration lock has no entry for: SQLite,
registered under another name. Its URL: unlocked:///path/to/file.db

    python unlocked_dialect.py PACKAGE
"""

import importlib
import sys

from alembic.ddl.sqlite import SQLiteImpl
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite


class UnlockedDialect(SQLiteDialect_pysqlite):
    name = "unlocked"
    supports_statement_cache = True


class UnlockedImpl(SQLiteImpl):
    """What Alembic runs on this dialect (found by its name)."""

    __dialect__ = "unlocked"


registry.register("unlocked", __name__, "UnlockedDialect")
importlib.import_module(f"{sys.argv[1]}.migrations").upgrade()

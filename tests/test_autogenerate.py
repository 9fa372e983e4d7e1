"""`alembic revision --autogenerate` in a rendered project: the user's main loop."""

import sqlite3

import pytest
from helpers import BIN, accounts, sqlite_tables

INVOICE_MODEL = """

class Invoice(Base):
    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    reference: Mapped[str | None] = mapped_column(String(20))
"""


def add_invoice_model(project) -> None:
    models = project.path / "my_program" / "models.py"
    source = models.read_text().replace(
        "from sqlalchemy import MetaData, String",
        "from sqlalchemy import ForeignKey, MetaData, String",
    )
    models.write_text(source + INVOICE_MODEL)


def make_reference_required_and_unique(project) -> None:
    models = project.path / "my_program" / "models.py"
    models.write_text(
        models.read_text().replace(
            "reference: Mapped[str | None] = mapped_column(String(20))",
            "reference: Mapped[str] = mapped_column(String(20), unique=True)",
        )
    )


def new_revision(project, message: str):
    """Autogenerate a revision and return its file: the one that was not there before."""
    before = set(project.versions.glob("*.py"))
    project.alembic("revision", "--autogenerate", "-m", message)
    (created,) = set(project.versions.glob("*.py")) - before
    return created


def insert_invoice(database, reference) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO invoice (account_id, reference) VALUES (1, ?)", (reference,)
        )


@pytest.fixture
def migrated(project):
    project = project()
    project.alembic("upgrade", "head")
    return project


def test_new_model_becomes_a_revision_that_upgrades_and_downgrades(migrated):
    add_invoice_model(migrated)
    revision = new_revision(migrated, "add invoice table")
    assert revision.name.endswith("_add_invoice_table.py")
    source = revision.read_text()
    assert 'op.create_table(\n        "invoice"' in source
    assert 'name=op.f("fk_invoice_account_id_account")' in source, "named by the convention"

    migrated.alembic("upgrade", "head")
    assert "invoice" in sqlite_tables(migrated.default_database)
    assert "No new upgrade operations detected" in migrated.alembic("check").stdout

    migrated.alembic("downgrade", "-1")
    assert "invoice" not in sqlite_tables(migrated.default_database)
    assert len(accounts(migrated.default_database)) == 3, "earlier data survives"

    # The post-write hooks left the new file as clean as the rest of the project.
    migrated.run(BIN / "ruff", "check", "--no-cache", ".")
    migrated.run(BIN / "ruff", "format", "--check", "--no-cache", ".")


def test_not_null_and_unique_on_sqlite_go_through_batch_mode(migrated):
    add_invoice_model(migrated)
    new_revision(migrated, "add invoice table")
    migrated.alembic("upgrade", "head")
    insert_invoice(migrated.default_database, "INV-1")

    make_reference_required_and_unique(migrated)
    revision = new_revision(migrated, "invoice reference required and unique")
    source = revision.read_text()
    assert 'with op.batch_alter_table("invoice"' in source
    assert 'batch_op.f("uq_invoice_reference")' in source

    migrated.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in migrated.alembic("check").stdout
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        insert_invoice(migrated.default_database, "INV-1")
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        insert_invoice(migrated.default_database, None)

    migrated.alembic("downgrade", "-1")
    insert_invoice(migrated.default_database, "INV-1")
    insert_invoice(migrated.default_database, None)


def test_unchanged_models_write_no_revision(migrated):
    before = sorted(migrated.versions.iterdir())
    result = migrated.alembic("revision", "--autogenerate", "-m", "nothing changed")
    assert sorted(migrated.versions.iterdir()) == before
    assert "no revision file written" in result.stderr


def test_revision_from_python_still_works(migrated):
    """command.revision() has no command-line options; the empty-revision hook copes."""
    script = (
        "from alembic import command\n"
        "from alembic.config import Config\n"
        "config = Config('alembic.ini')\n"
        "command.revision(config, message='from python', autogenerate=True)\n"
    )
    before = set(migrated.versions.iterdir())
    migrated.python("-c", script)
    (created,) = set(migrated.versions.iterdir()) - before
    assert created.name.endswith("_from_python.py")

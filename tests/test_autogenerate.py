"""`alembic revision --autogenerate` in a rendered project, the user's main loop, on
the SQLite default and on each server."""

import pytest
from helpers import BACKENDS, BIN, ENGINE_VARIANTS, answers_id
from sqlalchemy.exc import IntegrityError

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
    database.execute(
        "INSERT INTO invoice (account_id, reference) VALUES (1, :reference)", reference=reference
    )


@pytest.fixture(
    params=[(backend, engine) for backend in BACKENDS for engine in ENGINE_VARIANTS],
    ids=lambda param: f"{param[0]}-{answers_id(param[1])}",
)
def migrated(request, project_on):
    """(project, database), migrated to head on each backend and engine in turn."""
    backend, engine = request.param
    project, database = project_on(backend, **engine)
    project.alembic("upgrade", "head")
    return project, database


def test_new_model_becomes_a_revision_that_upgrades_and_downgrades(migrated):
    project, database = migrated
    add_invoice_model(project)
    revision = new_revision(project, "add invoice table")
    assert revision.name.endswith("_add_invoice_table.py")
    source = revision.read_text()
    assert 'op.create_table(\n        "invoice"' in source
    assert 'name=op.f("fk_invoice_account_id_account")' in source, "named by the convention"

    project.alembic("upgrade", "head")
    assert "invoice" in database.tables()
    assert "No new upgrade operations detected" in project.alembic("check").stdout

    project.alembic("downgrade", "-1")
    assert "invoice" not in database.tables()
    assert len(database.accounts()) == 3, "earlier data survives"

    # The post-write hooks left the new file as clean as the rest of the project.
    project.run(BIN / "ruff", "check", "--no-cache", ".")
    project.run(BIN / "ruff", "format", "--check", "--no-cache", ".")


def test_not_null_and_unique_through_named_constraints(migrated):
    """On SQLite this goes through batch mode, which needs the naming convention."""
    project, database = migrated
    add_invoice_model(project)
    new_revision(project, "add invoice table")
    project.alembic("upgrade", "head")
    insert_invoice(database, "INV-1")

    make_reference_required_and_unique(project)
    source = new_revision(project, "invoice reference required and unique").read_text()
    assert 'with op.batch_alter_table("invoice"' in source
    assert 'batch_op.f("uq_invoice_reference")' in source

    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"):
        insert_invoice(database, "INV-1")
    with pytest.raises(IntegrityError, match=r"(?i)null"):
        insert_invoice(database, None)

    project.alembic("downgrade", "-1")
    insert_invoice(database, "INV-1")
    insert_invoice(database, None)


def test_unchanged_models_write_no_revision(project):
    project = project()
    project.alembic("upgrade", "head")
    before = sorted(project.versions.iterdir())
    result = project.alembic("revision", "--autogenerate", "-m", "nothing changed")
    assert sorted(project.versions.iterdir()) == before
    assert "no revision file written" in result.stderr


def test_revision_from_python_still_works(project):
    """command.revision() has no command-line options; the empty-revision hook copes."""
    project = project()
    project.alembic("upgrade", "head")
    script = (
        "from alembic import command\n"
        "from alembic.config import Config\n"
        "config = Config('alembic.ini')\n"
        "command.revision(config, message='from python', autogenerate=True)\n"
    )
    before = set(project.versions.iterdir())
    project.python("-c", script)
    (created,) = set(project.versions.iterdir()) - before
    assert created.name.endswith("_from_python.py")

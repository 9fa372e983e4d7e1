"""`alembic revision --autogenerate` in a rendered project, the user's main loop, on
the SQLite default and on each server. (test_project_life.py autogenerates a new
table, a type change and a drop, with both engines.)"""

import pytest
from helpers import BACKENDS, MODELS, PROGRAMS, Database
from sqlalchemy.exc import IntegrityError


def make_period_required_and_unique(project) -> None:
    source = project.models.read_text()
    old = "period: Mapped[str | None] = mapped_column(String(7))"
    assert old in source
    new = "period: Mapped[str] = mapped_column(String(7), unique=True)"
    project.models.write_text(source.replace(old, new))


def new_revision(project, message: str):
    """Autogenerate a revision and return its file: the one that was not there before."""
    before = set(project.versions.glob("*.py"))
    project.alembic("revision", "--autogenerate", "-m", message)
    (created,) = set(project.versions.glob("*.py")) - before
    return created


def insert_invoice(database, account_id: int, reference: str, period: str | None) -> None:
    database.execute(
        "INSERT INTO invoice (account_id, reference, period) VALUES (:a, :r, :p)",
        a=account_id,
        r=reference,
        p=period,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_not_null_and_unique_through_named_constraints(project_on, backend):
    """On SQLite this goes through batch mode, which needs the naming convention."""
    project, database = project_on(backend)
    project.alembic("upgrade", "head")
    project.add_models(MODELS / "invoice.py")
    new_revision(project, "add invoice table")
    project.alembic("upgrade", "head")
    insert_invoice(database, 1, "INV-1", "2026-01")

    make_period_required_and_unique(project)
    source = new_revision(project, "invoice period required and unique").read_text()
    assert 'with op.batch_alter_table("invoice"' in source
    assert 'batch_op.f("uq_invoice_period")' in source

    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"):
        insert_invoice(database, 2, "INV-2", "2026-01")
    with pytest.raises(IntegrityError, match=r"(?i)null"):
        insert_invoice(database, 2, "INV-2", None)

    project.alembic("downgrade", "-1")
    insert_invoice(database, 2, "INV-2", "2026-01")
    insert_invoice(database, 2, "INV-3", None)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_table_with_an_indexed_foreign_key_goes_down_and_up_again(project_on, backend):
    """Autogenerate drops a table's indexes before the table; MariaDB refuses to
    drop one that a foreign key needs. The revision drops the table alone."""
    project, database = project_on(backend)
    project.alembic("upgrade", "head")
    project.add_models(MODELS / "comment.py")
    source = new_revision(project, "add comment table").read_text()
    assert "drop_index" not in source
    project.alembic("upgrade", "head")
    project.alembic("downgrade", "-1")
    assert "comment" not in database.tables()
    project.alembic("upgrade", "head")
    assert "comment" in database.tables()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_postgresql_enum_is_created_changed_and_dropped_both_ways(
    project_on, server_database, backend
):
    """Each change autogenerate writes to an enum column (alembic-postgresql-enum)
    goes up, down and up again: the type with its table, a value added, one
    renamed (taken away, another added), the table dropped with its type. The
    project's own suite then passes, on a test database that a failed run left
    with the type in it."""
    project, database = project_on(backend)
    project.alembic("upgrade", "head")
    project.add_models(MODELS / "post.py")
    changes = [
        (None, None, ".create(op.get_bind())"),
        (
            '    private = "private"\n',
            '    private = "private"\n    unlisted = "unlisted"\n',
            "add_enum_value",
        ),
        ('    private = "private"', '    hidden = "hidden"', "sync_enum_values"),
    ]
    for number, (old, new, written) in enumerate(changes):
        if old:
            replace_in(project.models, old, new)
        source = new_revision(project, f"visibility {number}").read_text()
        assert written in source, source
        for step in ("head", "-1", "head"):
            project.alembic("downgrade" if step == "-1" else "upgrade", step)
    assert database.execute("SELECT count(*) FROM pg_type WHERE typname = 'visibility'") == [(1,)]

    source = project.models.read_text()
    replace_in(project.models, source[source.index("\n\nclass Visibility") :], "\n")
    new_revision(project, "no more posts")
    project.alembic("upgrade", "head")
    assert database.execute("SELECT count(*) FROM pg_type WHERE typname = 'visibility'") == [(0,)]
    project.alembic("downgrade", "-1")
    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout

    test_database = Database(server_database(backend))
    test_database.execute("CREATE TYPE visibility AS ENUM ('left', 'behind')")
    project.own_suite(env={project.test_url_env: project.url_for(test_database.url)})


HERO = """

class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
"""


def test_sqlmodel_tables_on_the_models_metadata_are_migrated(project):
    """A SQLModel table is invisible to autogenerate until it is on the metadata
    env.py uses, and the suite says so; on it, its revision imports sqlmodel (for
    AutoString) and runs, and the suite passes."""
    pytest.importorskip("sqlmodel")
    project = project()
    project.alembic("upgrade", "head")
    source = project.models.read_text()
    project.models.write_text(f"from sqlmodel import Field, SQLModel\n{source}{HERO}")
    result = project.python("-m", "pytest", "-p", "no:cacheprovider", "-q", check=False)
    assert "Tables that env.py does not see: ['hero']" in result.stdout

    replace_in(project.models, HERO, f"\n\nSQLModel.metadata = Base.metadata\n{HERO}")
    assert "import sqlmodel\n" in new_revision(project, "add hero table").read_text()
    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    project.own_suite()


def replace_in(path, old: str, new: str) -> None:
    source = path.read_text()
    assert old in source
    path.write_text(source.replace(old, new))


@pytest.mark.parametrize("backend", BACKENDS)
def test_names_too_long_for_the_database_are_shortened_the_same_way(project_on, backend):
    """The convention's names for these constraints and this index are over 63
    characters: each database gets them shortened to its limit, and `alembic check`
    and a later drop by name find them."""
    project, database = project_on(backend)
    project.alembic("upgrade", "head")
    project.add_models(MODELS / "long_names.py")
    new_revision(project, "add subscription renewals")
    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    (unique,) = database.unique_constraints("customer_relationship_subscription_renewal")
    if backend != "sqlite":  # which has no limit, and keeps the whole name
        assert len(unique) <= {"postgresql": 63, "mysql": 64}[backend]
    project.alembic("downgrade", "-1")
    assert "customer_relationship_subscription_renewal" not in database.tables()


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
    before = set(project.versions.iterdir())
    project.python(PROGRAMS / "revision_from_python.py", "from python")
    (created,) = set(project.versions.iterdir()) - before
    assert created.name.endswith("_from_python.py")

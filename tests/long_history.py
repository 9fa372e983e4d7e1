"""A long history for a rendered project, as issue 23 measures one: each revision
adds a table and its model. The benchmark's figure 8 times the project's suite on
it; the tests put a revision that breaks a check at its start, middle or end."""

from collections.abc import Iterable
from pathlib import Path

from helpers import SEED_ACCOUNTS

TABLE_REVISION = '''"""Table {number}."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "table_{number}",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(50), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_table_{number}")),
    )


def downgrade() -> None:
    op.drop_table("table_{number}")
'''

TABLE_MODEL = """

class Table{number}(Base):
    __tablename__ = "table_{number}"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(50))
"""


def table_revision(number: int) -> str:
    return f"d{number:011x}"


def add_tables(package: Path, numbers: Iterable[int], after: str = SEED_ACCOUNTS) -> str:
    """A revision and a model for each table number, in a line after the revision
    `after` (by default the shipped seed); the last revision's id. head.txt is
    then stale: `history record` it."""
    versions = package / "migrations" / "versions"
    down_revision = after
    for number in numbers:
        revision = table_revision(number)
        (versions / f"2026_12_02_0000-{revision}_table_{number}.py").write_text(
            TABLE_REVISION.format(number=number, revision=revision, down_revision=down_revision)
        )
        with (package / "models.py").open("a") as models:
            models.write(TABLE_MODEL.format(number=number))
        down_revision = revision
    return down_revision

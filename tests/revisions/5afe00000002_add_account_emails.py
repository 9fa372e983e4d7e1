"""New columns on a live table: one nullable, one NOT NULL with a constant default
(PostgreSQL 11+ adds it without rewriting the table).

Revision ID: 5afe00000002
Revises: 5afe00000001
"""

import sqlalchemy as sa
from alembic import op

revision = "5afe00000002"
down_revision = "5afe00000001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account", sa.Column("email", sa.Text(), nullable=True))
    op.add_column(
        "account",
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("account") as batch_op:
        batch_op.drop_column("active")
        batch_op.drop_column("email")

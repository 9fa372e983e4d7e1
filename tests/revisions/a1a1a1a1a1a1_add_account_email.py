"""Add a column to the account table: an ALTER TABLE that waits for its lock.

Revision ID: a1a1a1a1a1a1
Revises: 89feb189b99d
"""

import sqlalchemy as sa
from alembic import op

revision = "a1a1a1a1a1a1"
down_revision = "89feb189b99d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("email", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.drop_column("email")

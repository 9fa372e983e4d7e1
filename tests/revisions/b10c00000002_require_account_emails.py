"""Require an email of every account: NOT NULL, and no default for the rows there.

Revision ID: b10c00000002
Revises: b10c00000001
"""

import sqlalchemy as sa
from alembic import op

revision = "b10c00000002"
down_revision = "b10c00000001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account", sa.Column("email", sa.Text(), nullable=False))


def downgrade() -> None:
    op.drop_column("account", "email")

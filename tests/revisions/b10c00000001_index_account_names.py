"""Index account names the plain way: writes to the live table wait for the build.

Revision ID: b10c00000001
Revises: 89feb189b99d
"""

from alembic import op

revision = "b10c00000001"
down_revision = "89feb189b99d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_account_name", "account", ["name"])


def downgrade() -> None:
    op.drop_index("ix_account_name", "account")

"""Index account names, concurrently on PostgreSQL.

Revision ID: c0c0c0c0c0c0
Revises: 5105105105a0
"""

from alembic import op

revision = "c0c0c0c0c0c0"
down_revision = "5105105105a0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index("ix_account_name", "account", ["name"], postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_account_name", "account", postgresql_concurrently=True)

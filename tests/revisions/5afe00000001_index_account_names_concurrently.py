"""Index account names CONCURRENTLY: writes go on during the build (PostgreSQL).

Revision ID: 5afe00000001
Revises: 89feb189b99d
"""

from alembic import op

revision = "5afe00000001"
down_revision = "89feb189b99d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction: step out of
    # Alembic's for it. Other databases build an ordinary index.
    with op.get_context().autocommit_block():
        op.create_index("ix_account_name", "account", ["name"], postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_account_name", "account", postgresql_concurrently=True)

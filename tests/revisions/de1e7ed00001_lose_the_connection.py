"""Lose the connection halfway, as when the server restarts (PostgreSQL only).

Revision ID: de1e7ed00001
Revises: 89feb189b99d
"""

from alembic import op

revision = "de1e7ed00001"
down_revision = "89feb189b99d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def downgrade() -> None:
    pass

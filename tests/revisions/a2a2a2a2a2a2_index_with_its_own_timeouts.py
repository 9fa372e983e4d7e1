"""A revision that needs longer than the run's timeouts: it sets its own.

Revision ID: a2a2a2a2a2a2
Revises: a1a1a1a1a1a1
"""

from alembic import op
from my_program.migrations.timeouts import set_for_this_revision

revision = "a2a2a2a2a2a2"
down_revision = "a1a1a1a1a1a1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    set_for_this_revision(table_lock=30, statement=0)
    op.create_index("ix_account_email", "account", ["email"])


def downgrade() -> None:
    op.drop_index("ix_account_email", "account")

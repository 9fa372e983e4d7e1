"""A required column on a table with rows: added nullable, backfilled, then made
NOT NULL.

Revision ID: d20000000004
Revises: d20000000003
"""

import datetime

import sqlalchemy as sa
from alembic import op

revision = "d20000000004"
down_revision = "d20000000003"
branch_labels = None
depends_on = None

invoice = sa.table("invoice", sa.column("due_date", sa.Date()))


def upgrade() -> None:
    op.add_column("invoice", sa.Column("due_date", sa.Date(), nullable=True))
    op.execute(invoice.update().values(due_date=datetime.date(2026, 12, 31)))
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.alter_column("due_date", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.drop_column("due_date")

"""A data migration: a welcome invoice for every account.

Revision ID: d20000000003
Revises: d20000000002
"""

import sqlalchemy as sa
from alembic import op

revision = "d20000000003"
down_revision = "d20000000002"
branch_labels = None
depends_on = None

# The tables as they are at this revision.
account = sa.table("account", sa.column("id", sa.Integer()))
invoice = sa.table(
    "invoice",
    sa.column("account_id", sa.Integer()),
    sa.column("reference", sa.String()),
    sa.column("period", sa.String()),
)


def upgrade() -> None:
    welcome = sa.select(account.c.id, sa.literal("WELCOME"), sa.literal("2026-11"))
    op.execute(invoice.insert().from_select(["account_id", "reference", "period"], welcome))


def downgrade() -> None:
    op.execute(invoice.delete().where(invoice.c.reference == "WELCOME"))

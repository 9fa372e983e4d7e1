"""Index invoice references, without blocking writes on PostgreSQL.

Revision ID: d20000000002
Revises: d20000000001
"""

from alembic import op

revision = "d20000000002"
down_revision = "d20000000001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction: step out of
    # Alembic's for it. Other databases build an ordinary index.
    with op.get_context().autocommit_block():
        op.create_index(
            op.f("ix_invoice_reference"),
            "invoice",
            ["reference"],
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            op.f("ix_invoice_reference"),
            table_name="invoice",
            postgresql_concurrently=True,
        )

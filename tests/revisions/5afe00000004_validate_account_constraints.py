"""Validate the constraints added NOT VALID, in a transaction of their own: the
rows are scanned, and writes go on meanwhile (PostgreSQL).

Revision ID: 5afe00000004
Revises: 5afe00000003
"""

from alembic import op

revision = "5afe00000004"
down_revision = "5afe00000003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE account VALIDATE CONSTRAINT fk_account_referrer_id_account")
        op.execute("ALTER TABLE account VALIDATE CONSTRAINT ck_account_name_not_empty")


def downgrade() -> None:
    pass

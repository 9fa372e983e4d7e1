"""Constraints checked against every row at once, the table locked meanwhile: a
foreign key and a check, neither NOT VALID.

Revision ID: b10c00000004
Revises: b10c00000003
"""

import sqlalchemy as sa
from alembic import op

revision = "b10c00000004"
down_revision = "b10c00000003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account", sa.Column("referrer_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_account_referrer_id_account"), "account", "account", ["referrer_id"], ["id"]
    )
    op.create_check_constraint(op.f("ck_account_name_not_empty"), "account", "name <> ''")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_account_name_not_empty"), "account", type_="check")
    op.drop_constraint(op.f("fk_account_referrer_id_account"), "account", type_="foreignkey")
    op.drop_column("account", "referrer_id")

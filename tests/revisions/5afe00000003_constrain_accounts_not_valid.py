"""Constraints added NOT VALID: on PostgreSQL, only new rows are checked, and the
table is locked for a moment only. 5afe00000004 validates the rows there.

Revision ID: 5afe00000003
Revises: 5afe00000002
"""

import sqlalchemy as sa
from alembic import op

revision = "5afe00000003"
down_revision = "5afe00000002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account", sa.Column("referrer_id", sa.Integer(), nullable=True))
    # Batch: SQLite, where the project's tests run, adds constraints by copying the
    # table; PostgreSQL alters it.
    with op.batch_alter_table("account") as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_account_referrer_id_account"),
            "account",
            ["referrer_id"],
            ["id"],
            postgresql_not_valid=True,
        )
        batch_op.create_check_constraint(
            op.f("ck_account_name_not_empty"), "name <> ''", postgresql_not_valid=True
        )


def downgrade() -> None:
    with op.batch_alter_table("account") as batch_op:
        # SQLite's batch mode copies the table without its CHECK constraints.
        if op.get_context().dialect.name == "postgresql":
            batch_op.drop_constraint(op.f("ck_account_name_not_empty"), type_="check")
        batch_op.drop_constraint(op.f("fk_account_referrer_id_account"), type_="foreignkey")
        batch_op.drop_column("referrer_id")

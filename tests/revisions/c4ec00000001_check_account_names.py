"""A check constraint named the short way: the models' naming convention names it.

Revision ID: c4ec00000001
Revises: 89feb189b99d
"""

from alembic import op

revision = "c4ec00000001"
down_revision = "89feb189b99d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.create_check_constraint("name_not_empty", "name <> ''")


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.drop_constraint("name_not_empty", type_="check")

"""Fail halfway: after creating a table and inserting a row.

Revision ID: fa11ed000001
Revises: 89feb189b99d
"""

import sqlalchemy as sa
from alembic import op

revision = "fa11ed000001"
down_revision = "89feb189b99d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO half (id) VALUES (1)")
    raise RuntimeError("this revision fails halfway")


def downgrade() -> None:
    op.drop_table("half")

"""Change a column's type: PostgreSQL rewrites the whole table, locked meanwhile.

Revision ID: b10c00000003
Revises: b10c00000002
"""

import sqlalchemy as sa
from alembic import op

revision = "b10c00000003"
down_revision = "b10c00000002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("account", "create_date", type_=sa.DateTime(), existing_type=sa.Date())


def downgrade() -> None:
    op.alter_column("account", "create_date", type_=sa.Date(), existing_type=sa.DateTime())

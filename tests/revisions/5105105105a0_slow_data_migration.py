"""A data migration that takes a while: replicas that start meanwhile queue.

Revision ID: 5105105105a0
Revises: 89feb189b99d
"""

import time

revision = "5105105105a0"
down_revision = "89feb189b99d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    time.sleep(2)


def downgrade() -> None:
    pass

"""Alembic's invariants, checked by pytest-alembic on the test database.

- test_single_head_revision: the history has one head, so `upgrade head` is unambiguous.
- test_upgrade: every revision applies, from an empty database to head.
- test_model_definitions_match_ddl: the models and the migrated schema agree, so
  `alembic revision --autogenerate` has nothing left to add.
- test_up_down_consistency: every revision downgrades cleanly, one step at a time.
"""

from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]

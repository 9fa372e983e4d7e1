"""Yours: the database schema, as SQLAlchemy models.

Alembic compares these models with the database to autogenerate revisions and to
check that nothing has drifted: change a model, then run
``alembic revision --autogenerate -m "..."``.
"""

import datetime

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The base of every model; its metadata is what Alembic compares against."""

    # Every constraint gets a predictable name, so that later revisions can alter
    # or drop it by name on every database (SQLite's batch mode needs this). Names
    # list all their columns (column_0_N_name), so two constraints over different
    # columns never share one; a name too long for the database (63 characters on
    # PostgreSQL, 64 on MySQL) is shortened by SQLAlchemy, ending in a hash of the
    # whole name.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Account(Base):
    """An account; created by the first revision."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    create_date: Mapped[datetime.date | None]

"""The model a team adds on the project's second day: an invoice of an account, its
reference unique per account, one per account and period.

Project.add_models() adds it to a project's models.py (but the import of Base).
"""

import datetime

from my_program.models import Base
from sqlalchemy import ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column


class Invoice(Base):
    __tablename__ = "invoice"
    # Two composite uniques that share their first column: named after all their
    # columns, they get two names.
    __table_args__ = (
        UniqueConstraint("account_id", "reference"),
        UniqueConstraint("account_id", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    reference: Mapped[str] = mapped_column(String(20))
    period: Mapped[str | None] = mapped_column(String(7))
    # A default every database understands (func.now() would not run on SQLite).
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=func.current_timestamp())

"""A model whose constraint names, built by the naming convention, are longer than
PostgreSQL (63) and MySQL (64) allow: SQLAlchemy shortens them, the same way each
time, so that later revisions find them by name.

Project.add_models() adds it to a project's models.py (but the import of Base).
"""

from my_program.models import Base
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class SubscriptionRenewal(Base):
    __tablename__ = "customer_relationship_subscription_renewal"
    __table_args__ = (
        UniqueConstraint("subscription_reference_number", "renewal_period_identifier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_identifier_of_the_subscriber: Mapped[int] = mapped_column(ForeignKey("account.id"))
    subscription_reference_number: Mapped[str] = mapped_column(String(20))
    renewal_period_identifier: Mapped[str] = mapped_column(String(20), index=True)

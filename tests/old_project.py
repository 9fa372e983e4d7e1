"""A project that never met the template, as teams bring them in (README, "Bring your
own history"): a package `app` with its models, and a stock `alembic init`
environment whose 25 revisions were written the way teams without the template
write them: no naming convention, unnamed unique constraints and foreign keys,
dropped by the names each database gave them, data seeded by revisions, a column
renamed, a downgrade left empty, and one that autogenerate left broken (it
drops a constraint by `None`). It runs on PostgreSQL and MySQL, not on SQLite,
like many such histories.

The revisions are made by Alembic itself (`alembic revision`, its stock template),
their bodies then written in, as a developer does.
"""

import hashlib
import io
import subprocess
from pathlib import Path

from alembic import command
from alembic.config import Config
from helpers import BIN, git, git_commit_all

PACKAGE = "app"
URL_ENV = "APP_DATABASE_URL"

# Looks up the name a database gave a foreign key, as downgrades that must drop
# one it created unnamed do.
FOREIGN_KEY_NAMED = """
def foreign_key_name(table, column):
    for key in sa.inspect(op.get_bind()).get_foreign_keys(table):
        if key["constrained_columns"] == [column]:
            return key["name"]
    raise LookupError(f"no foreign key on {table}.{column}")
"""

# (message, the code from `def upgrade` on): each revision of the history, in order.
STEPS = [
    (
        "create users",
        """
def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=128), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )


def downgrade():
    op.drop_table("users")
""",
    ),
    (
        "create teams",
        """
def upgrade():
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("teams")
""",
    ),
    (
        "users join teams",
        FOREIGN_KEY_NAMED
        + """

def upgrade():
    op.add_column("users", sa.Column("team_id", sa.Integer(), nullable=True))
    op.create_foreign_key(None, "users", "teams", ["team_id"], ["id"])


def downgrade():
    op.drop_constraint(foreign_key_name("users", "team_id"), "users", type_="foreignkey")
    op.drop_column("users", "team_id")
""",
    ),
    (
        "create challenges",
        """
def upgrade():
    op.create_table(
        "challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=80), nullable=True),
        sa.Column("state", sa.String(length=80), server_default="visible", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("challenges")
""",
    ),
    (
        "create solves",
        """
def upgrade():
    op.create_table(
        "solves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("challenge_id", sa.Integer(), nullable=True),
        sa.Column("date", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenges.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "challenge_id"),
    )


def downgrade():
    op.drop_table("solves")
""",
    ),
    (
        "index challenges by category",
        """
def upgrade():
    op.create_index(op.f("ix_challenges_category"), "challenges", ["category"])


def downgrade():
    op.drop_index(op.f("ix_challenges_category"), table_name="challenges")
""",
    ),
    (
        "create awards",
        """
def upgrade():
    op.create_table(
        "awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=True),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("date", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("awards")
""",
    ),
    (
        "awards go with their team",
        FOREIGN_KEY_NAMED
        + """
# The name each database gave the key "create awards" made.
CREATED = {"postgresql": "awards_team_id_fkey", "mysql": "awards_ibfk_2"}


def upgrade():
    name = CREATED[op.get_bind().dialect.name]
    op.drop_constraint(name, "awards", type_="foreignkey")
    op.create_foreign_key(None, "awards", "teams", ["team_id"], ["id"], ondelete="CASCADE")


def downgrade():
    op.drop_constraint(foreign_key_name("awards", "team_id"), "awards", type_="foreignkey")
    op.create_foreign_key(None, "awards", "teams", ["team_id"], ["id"])
""",
    ),
    (
        "longer user names",
        """
def upgrade():
    op.alter_column(
        "users", "name", type_=sa.String(length=128), existing_type=sa.String(length=80),
        existing_nullable=False,
    )


def downgrade():
    op.alter_column(
        "users", "name", type_=sa.String(length=80), existing_type=sa.String(length=128),
        existing_nullable=False,
    )
""",
    ),
    (
        "create tags",
        """
def upgrade():
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenges.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("tags")
""",
    ),
    (
        "create hints",
        """
def upgrade():
    op.create_table(
        "hints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("cost", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenges.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("hints")
""",
    ),
    (
        "users can be hidden",
        """
def upgrade():
    op.add_column(
        "users",
        sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade():
    op.drop_column("users", "hidden")
""",
    ),
    (
        # As autogenerate writes it without a naming convention: the downgrade
        # cannot name the constraint, and fails.
        "team names are unique",
        """
def upgrade():
    op.create_unique_constraint(None, "teams", ["name"])


def downgrade():
    op.drop_constraint(None, "teams", type_="unique")
""",
    ),
    (
        "create notifications",
        """
def upgrade():
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("date", sa.DateTime(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("notifications")
""",
    ),
    (
        "create pages",
        """
def upgrade():
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=True),
        sa.Column("route", sa.String(length=128), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("draft", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("route"),
    )


def downgrade():
    op.drop_table("pages")
""",
    ),
    (
        "seed the front page",
        """
pages = sa.table(
    "pages",
    sa.column("title", sa.String),
    sa.column("route", sa.String),
    sa.column("content", sa.Text),
    sa.column("draft", sa.Boolean),
)


def upgrade():
    op.bulk_insert(
        pages, [{"title": "Welcome", "route": "index", "content": "Hello", "draft": False}]
    )


def downgrade():
    op.execute(pages.delete().where(pages.c.route == "index"))
""",
    ),
    (
        "create tokens",
        """
def upgrade():
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=True),
        sa.Column("expiration", sa.DateTime(), nullable=True),
        sa.Column("value", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("value"),
    )


def downgrade():
    op.drop_table("tokens")
""",
    ),
    (
        "index solves by date",
        """
def upgrade():
    op.create_index(op.f("ix_solves_date"), "solves", ["date"])


def downgrade():
    op.drop_index(op.f("ix_solves_date"), table_name="solves")
""",
    ),
    (
        "challenge value is points",
        """
def upgrade():
    op.alter_column(
        "challenges", "value", new_column_name="points", existing_type=sa.Integer(),
        existing_nullable=True,
    )


def downgrade():
    op.alter_column(
        "challenges", "points", new_column_name="value", existing_type=sa.Integer(),
        existing_nullable=True,
    )
""",
    ),
    (
        "create config",
        """
def upgrade():
    op.create_table(
        "config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("config")
""",
    ),
    (
        "seed the config",
        """
config = sa.table("config", sa.column("key", sa.String), sa.column("value", sa.Text))


def upgrade():
    op.bulk_insert(
        config,
        [{"key": "ctf_name", "value": "Old Project"}, {"key": "user_mode", "value": "teams"}],
    )


def downgrade():
    op.execute(config.delete().where(config.c.key.in_(["ctf_name", "user_mode"])))
""",
    ),
    (
        "awards have a category",
        """
def upgrade():
    op.add_column("awards", sa.Column("category", sa.String(length=80), nullable=True))


def downgrade():
    op.drop_column("awards", "category")
""",
    ),
    (
        "hints have a title",
        """
def upgrade():
    op.add_column("hints", sa.Column("title", sa.String(length=80), nullable=True))


def downgrade():
    op.drop_column("hints", "title")
""",
    ),
    (
        # A downgrade left empty, as if harmless: the index goes with its table.
        "index tokens by expiration",
        """
def upgrade():
    op.create_index(op.f("ix_tokens_expiration"), "tokens", ["expiration"])


def downgrade():
    pass
""",
    ),
    (
        "users no longer keep a created date",
        """
def upgrade():
    op.drop_column("users", "created")


def downgrade():
    op.add_column("users", sa.Column("created", sa.DateTime(), nullable=True))
""",
    ),
]

# The revision whose downgrade is broken, and the one below it.
BROKEN_DOWNGRADE = "team names are unique"

MODELS = '''"""The application's models."""

import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(80), unique=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(128), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    hidden: Mapped[bool] = mapped_column(server_default=false())


class Challenge(Base):
    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    points: Mapped[int | None]
    category: Mapped[str | None] = mapped_column(String(80), index=True)
    state: Mapped[str] = mapped_column(String(80), server_default="visible")


class Solve(Base):
    __tablename__ = "solves"
    __table_args__ = (UniqueConstraint("user_id", "challenge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE")
    )
    date: Mapped[datetime.datetime | None] = mapped_column(index=True)


class Award(Base):
    __tablename__ = "awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE")
    )
    name: Mapped[str | None] = mapped_column(String(80))
    value: Mapped[int | None]
    date: Mapped[datetime.datetime | None]
    category: Mapped[str | None] = mapped_column(String(80))


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE")
    )
    value: Mapped[str | None] = mapped_column(String(80))


class Hint(Base):
    __tablename__ = "hints"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE")
    )
    content: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[int | None]
    title: Mapped[str | None] = mapped_column(String(80))


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    date: Mapped[datetime.datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))


class Page(Base):
    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(String(80))
    route: Mapped[str | None] = mapped_column(String(128), unique=True)
    content: Mapped[str | None] = mapped_column(Text)
    draft: Mapped[bool | None]


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    created: Mapped[datetime.datetime | None]
    expiration: Mapped[datetime.datetime | None] = mapped_column(index=True)
    value: Mapped[str | None] = mapped_column(String(128), unique=True)


class Config(Base):
    __tablename__ = "config"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
'''

# What the team changed in `alembic init`'s env.py: the URL from the environment,
# the models' metadata.
ENV_CHANGES = {
    "target_metadata = None": "from app.models import Base\n\ntarget_metadata = Base.metadata",
    "config = context.config": (
        "config = context.config\n"
        f'config.set_main_option("sqlalchemy.url", os.environ["{URL_ENV}"])'
    ),
    "from logging.config import fileConfig": "import os\nfrom logging.config import fileConfig",
}


def revision_id(message: str) -> str:
    return hashlib.sha1(message.encode()).hexdigest()[:12]


def write_old_project(directory: Path) -> None:
    """The old project in `directory`, a git repository with its work committed."""
    directory.mkdir()
    subprocess.run(
        [BIN / "alembic", "init", "--template", "generic", "migrations"],
        cwd=directory,
        check=True,
        capture_output=True,
    )
    env_py = directory / "migrations" / "env.py"
    source = env_py.read_text()
    for stock, changed in ENV_CHANGES.items():
        assert stock in source, f"alembic init's env.py has changed: no {stock!r}"
        source = source.replace(stock, changed, 1)
    env_py.write_text(source)
    (directory / PACKAGE).mkdir()
    (directory / PACKAGE / "__init__.py").write_text('"""The old application."""\n')
    (directory / PACKAGE / "models.py").write_text(MODELS)
    (directory / "README.md").write_text("# The old application\n")
    (directory / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1.0"\ndependencies = ["alembic", "sqlalchemy"]\n'
    )
    config = Config(directory / "alembic.ini", stdout=io.StringIO())
    config.set_main_option("script_location", str(directory / "migrations"))
    for message, code in STEPS:
        script = command.revision(config, message, rev_id=revision_id(message))
        path = Path(script.path)
        stock = path.read_text()
        path.write_text(stock[: stock.index("\ndef upgrade()")] + code.lstrip("\n"))
    git("init", "--quiet", cwd=directory)
    git_commit_all(directory, "The old application, its migrations")

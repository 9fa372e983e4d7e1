"""The template's runtime: MigrationError, raised for what the user can put right.

Each is raised where its cause is found, with a message that says what is wrong
and what to do, on one line, and never shows a password.
"""


class MigrationError(Exception):
    """Migrations cannot run; the message says why and what to do.

    The `alembic` command prints it as one line, without a traceback (environment.py
    hands it to Alembic as a CommandError). It is not a CommandError itself: importing
    Alembic costs an application's start-up more than the one read that upgrade()
    at head needs.
    """

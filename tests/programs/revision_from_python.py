"""Autogenerate a revision from Python, with no command-line options.

python revision_from_python.py MESSAGE
"""

import sys

from alembic import command
from alembic.config import Config

command.revision(Config("alembic.ini"), message=sys.argv[1], autogenerate=True)

"""Migrate in-process with the command line's alembic.ini, as the seed document
shows, inside an application that has set up its own logging; prints what became
of that logging as JSON: {"same": ..., "app_disabled": ...}.

    python migrate_in_process.py [keep-logging]

With keep-logging, configure_logger is left on: alembic.ini's logging applies.
"""

import json
import logging
import sys

import alembic.command
from alembic.config import Config

logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
app_logger = logging.getLogger("application")
root = logging.getLogger()
before = {"handlers": list(map(id, root.handlers)), "level": root.level}

config = Config("alembic.ini")
if sys.argv[1:] != ["keep-logging"]:
    config.attributes["configure_logger"] = False
alembic.command.upgrade(config, "head")

after = {"handlers": list(map(id, root.handlers)), "level": root.level}
print(json.dumps({"same": before == after, "app_disabled": app_logger.disabled}))

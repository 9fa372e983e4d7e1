"""A worker of an application: waits for the starting signal, then migrates the way
the README shows, logging what Alembic does (and nothing from SQLAlchemy).

    python worker.py PACKAGE GO_FILE sync|async

It starts migrating once GO_FILE exists; an async worker awaits upgrade_async().
"""

import asyncio
import importlib
import logging
import sys
import time
from pathlib import Path

package, go, kind = sys.argv[1:]
logging.basicConfig(level=logging.WARNING)
logging.getLogger("alembic").setLevel(logging.INFO)
while not Path(go).exists():
    time.sleep(0.01)
migrations = importlib.import_module(f"{package}.migrations")
if kind == "async":
    asyncio.run(migrations.upgrade_async())
else:
    migrations.upgrade()

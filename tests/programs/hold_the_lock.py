"""Hold the migration lock for SECONDS, as another migration would; prints
"holding" once it has the lock.

    python hold_the_lock.py PACKAGE SECONDS
"""

import importlib
import sys
import time

package, seconds = sys.argv[1], float(sys.argv[2])
migrations = importlib.import_module(f"{package}.migrations")
engine = importlib.import_module(f"{package}.migrations.engine")


def hold(_connection) -> None:
    print("holding", flush=True)
    time.sleep(seconds)


engine.on_connection(migrations.configured_engine(), hold, migration_lock_timeout=5)

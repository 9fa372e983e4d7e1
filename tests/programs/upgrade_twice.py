"""Upgrade from Python twice in one process, as an application that retries its
start-up does; prints what stopped each attempt.

    python upgrade_twice.py PACKAGE
"""

import importlib
import sys

migrations = importlib.import_module(f"{sys.argv[1]}.migrations")
for attempt in (1, 2):
    try:
        migrations.upgrade(migration_lock_timeout=1)
    except Exception as error:  # whatever stopped it: the test reads which
        print(f"attempt {attempt}: {type(error).__name__}: {str(error).splitlines()[0]}")
    else:
        print(f"attempt {attempt}: upgraded")

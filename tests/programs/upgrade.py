"""Upgrade from Python, as a start-up script does, letting any error escape.

    python upgrade.py PACKAGE [LOCK_TIMEOUT]

LOCK_TIMEOUT is passed as an int or a float if it reads as one, else as the string.
"""

import importlib
import sys

package, *lock_timeout = sys.argv[1:]
migrations = importlib.import_module(f"{package}.migrations")
if lock_timeout:
    value: object = lock_timeout[0]
    for number in (int, float):  # int first: 10**400 is no float
        try:
            value = number(lock_timeout[0])
            break
        except ValueError:
            pass
    migrations.upgrade(migration_lock_timeout=value)
else:
    migrations.upgrade()

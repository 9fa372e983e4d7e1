"""Upgrade from Python, as a start-up script does, letting any error escape.

    python upgrade.py PACKAGE [LOCK_TIMEOUT]

LOCK_TIMEOUT is passed as a number if it reads as one, else as the string.
"""

import importlib
import sys

package, *lock_timeout = sys.argv[1:]
migrations = importlib.import_module(f"{package}.migrations")
if lock_timeout:
    try:
        value: object = float(lock_timeout[0])
    except ValueError:
        value = lock_timeout[0]
    migrations.upgrade(lock_timeout=value)
else:
    migrations.upgrade()

"""Upgrade from Python with table lock timeouts, letting any error escape.

    python upgrade_with_timeouts.py PACKAGE FUNCTION TABLE_LOCK_TIMEOUT RETRY_FOR

FUNCTION is upgrade or upgrade_async (awaited in a new event loop).
"""

import asyncio
import importlib
import sys

package, function, table_lock_timeout, retry_for = sys.argv[1:]
migrations = importlib.import_module(f"{package}.migrations")
timeouts = {"table_lock_timeout": float(table_lock_timeout), "retry_for": float(retry_for)}
if function == "upgrade_async":
    asyncio.run(migrations.upgrade_async(**timeouts))
else:
    migrations.upgrade(**timeouts)

"""Print the revision the database is at, from Python.

python current.py PACKAGE [async]
"""

import asyncio
import importlib
import sys

package, *kind = sys.argv[1:]
migrations = importlib.import_module(f"{package}.migrations")
if kind == ["async"]:
    print(asyncio.run(migrations.current_async()))
else:
    print(migrations.current())

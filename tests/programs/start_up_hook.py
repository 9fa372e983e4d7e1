"""An async application's start-up hook, with another task on its event loop: a
heartbeat that counts its beats while the upgrade waits for the lock. Prints
{"beats": ..., "waited": seconds, "revision": ...} as JSON.

    python start_up_hook.py PACKAGE
"""

import asyncio
import importlib
import json
import sys
import time

migrations = importlib.import_module(f"{sys.argv[1]}.migrations")


async def start_up() -> None:
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            beats += 1
            await asyncio.sleep(0.05)

    task = asyncio.create_task(heartbeat())
    started = time.monotonic()
    await migrations.upgrade_async()
    waited = time.monotonic() - started
    task.cancel()
    revision = await migrations.current_async()
    print(json.dumps({"beats": beats, "waited": waited, "revision": revision}))


asyncio.run(start_up())

"""Run the README's start-up hook as a web framework would: entered, then left;
prints the revision the database is then at.

    python readme_lifespan.py PACKAGE
"""

import asyncio
import importlib
import sys
from pathlib import Path

blocks = [block.split("```")[0] for block in Path("README.md").read_text().split("```python")]
(snippet,) = [block for block in blocks if "async def lifespan" in block]
namespace: dict = {}
exec(snippet, namespace)
migrations = importlib.import_module(f"{sys.argv[1]}.migrations")


async def serve() -> None:
    async with namespace["lifespan"](app=None):
        print(await migrations.current_async())


asyncio.run(serve())

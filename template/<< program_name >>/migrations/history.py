"""The template's: `python -m <package>.migrations.history COMMAND`.

Keeps the history one line for a team, and shows what each database ran
(runtime/commands.py does the work).
"""

import sys

from .runtime.commands import main

if __name__ == "__main__":
    main(sys.argv[1:])

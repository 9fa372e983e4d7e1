"""The template's: `python -m <package>.migrations.history record | check | rebase`.

Keeps the history one line for a team (runtime/history.py does the work).
"""

import sys

from .runtime.history import main

if __name__ == "__main__":
    main(sys.argv[1:])

"""The template's runtime: `python -m <package>.migrations.history COMMAND`.

- record, check, rebase [--onto REVISION]: head.txt, the one line of history
  (history.py);
- adopt DIRECTORY: an existing history's revision files, brought in (history.py);
- applied: what the configured database ran (applied.py);
- accept REVISION...: a revision's file, as it is now, is what it ran.
"""

import sys
from pathlib import Path

from . import MigrationError, alembic_config
from .history import COMMAND, adopt, rebase, record, recorded_head, stale

USAGE = (
    f"usage: {COMMAND} record | check | rebase [--onto REVISION] | adopt DIRECTORY"
    " | applied | accept REVISION..."
)


def main(argv: list[str]) -> None:
    command, *rest = argv or ["check"]
    if command == "record":  # as the post-write hook calls it (with the file's name)
        record()
    elif command == "check":
        if problem := stale():
            sys.exit(f"{problem}: run `{COMMAND} record`")
        if recorded_head() is None:  # stale, but the template's: say so, pass
            print(
                f"head.txt is still the template's record: `{COMMAND} record` "
                "records this project's head.",
                file=sys.stderr,
            )
    elif command == "adopt" and len(rest) == 1:
        adopt(Path(rest[0]))
    elif command == "rebase":
        onto = rest[rest.index("--onto") + 1] if "--onto" in rest else None
        rebase(onto)
    elif command == "applied" or (command == "accept" and rest):
        try:
            run_on_the_database(command, accept=rest)
        except MigrationError as error:
            sys.exit(str(error))
    else:
        sys.exit(USAGE)


def run_on_the_database(name: str, **attributes: object) -> None:
    """One of the runtime's own commands, on the configured database: env.py, run
    as Alembic's commands run it, then environment.py, which knows them by name."""
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    config = alembic_config()
    config.attributes.update(command=name, **attributes)
    script = ScriptDirectory.from_config(config)
    with EnvironmentContext(config, script):
        script.run_env()

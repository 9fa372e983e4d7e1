"""The template's runtime: one line of history. head.txt records the newest revision
and a fingerprint of the revision files' names.

Every `alembic revision` rewrites it (a post-write hook), so two branches that each
add a revision meet as a git conflict there, not as two heads in production;
`python -m <package>.migrations.history rebase` puts one after the other. The
record also lets upgrade() at start-up know the head without importing Alembic.
Nothing here imports Alembic but the commands that need it.
"""

import hashlib
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parents[1]
VERSIONS = MIGRATIONS / "versions"
RECORD = MIGRATIONS / "head.txt"
# The newest revision of a history brought in by `adopt`: the ones after it are the
# project's own, which its tests lint and hold to leave no trace when downgraded.
BASELINE = MIGRATIONS / "baseline.txt"
# The line that marks head.txt as the template's, until the project's first record.
TEMPLATES_RECORD = (
    "# (The revisions the template shipped, until the first `alembic revision` here.)"
)
# The command, as users type it: `python -m <package>.migrations.history`.
COMMAND = f"python -m {__name__.rsplit('.', 2)[0]}.history"
# The head of a history with no revision yet (a history about to be brought in),
# as Alembic names the point before the first revision.
BASE = "base"


def revision_files() -> list[str]:
    """The names of the revision files, as Alembic finds them."""
    try:
        with os.scandir(VERSIONS) as entries:
            return [
                entry.name
                for entry in entries
                if entry.name.endswith(".py") and entry.name != "__init__.py"
            ]
    except FileNotFoundError:  # Alembic says so, the first time it needs them
        return []


def fingerprint(names: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:12]


def read_record() -> tuple[str, str] | None:
    """(head, fingerprint) from head.txt; None if it is missing or in conflict."""
    try:
        lines = RECORD.read_text().splitlines()
    except OSError:
        return None
    values = [line.split() for line in lines if line and not line.startswith("#")]
    if len(values) != 1 or len(values[0]) != 2:  # conflict markers, or edited
        return None
    head, files = values[0]
    return head, files


def recorded_head(files: list[str] | None = None) -> str | None:
    """The head, from head.txt alone, if it describes the revision files on disk
    (`files`, if already listed): a file it does not know (written by hand, a stale
    record) gives None."""
    record = read_record()
    if record is None or record[1] != fingerprint(
        revision_files() if files is None else files
    ):
        return None
    return record[0]


# The commands: they read the revisions, with Alembic.


def script_directory() -> "ScriptDirectory":
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def record() -> str:
    """Rewrite head.txt from the revisions; a message if there is not one head."""
    heads = script_directory().get_heads() or [BASE]
    if len(heads) != 1:
        sys.exit(
            f"The history has {len(heads)} heads ({', '.join(sorted(heads))}): put "
            f"one after the other with `{COMMAND} rebase`."
        )
    # The file's comments stay, which say what a conflict in it means; the
    # template's mark goes: from now on, the record is this project's.
    lines = RECORD.read_text().splitlines() if RECORD.exists() else []
    comments = [
        line for line in lines if line.startswith("#") and line != TEMPLATES_RECORD
    ]
    record = f"{heads[0]} {fingerprint(revision_files())}"
    RECORD.write_text("\n".join([*comments, record]) + "\n")
    return heads[0]


def stale() -> str | None:
    """Why head.txt does not describe the revisions, or None if it does, or if it
    is still the template's (a project copied, or updated from a release before
    head.txt, that has written no revision with `alembic revision` since)."""
    heads = script_directory().get_heads() or [BASE]
    if len(heads) != 1:
        return f"the history has {len(heads)} heads: {', '.join(sorted(heads))}"
    wanted = (heads[0], fingerprint(revision_files()))
    found = read_record()
    if found != wanted and not (
        RECORD.exists() and TEMPLATES_RECORD in RECORD.read_text()
    ):
        return f"head.txt records {found}, and the revisions say {wanted}"
    return None


def baseline() -> str | None:
    """The revision `adopt` recorded as the history brought in, or None."""
    try:
        lines = BASELINE.read_text().splitlines()
    except OSError:
        return None
    values = [
        line.strip() for line in lines if line.strip() and not line.startswith("#")
    ]
    return values[0] if values else None


def adopt(source: Path) -> None:
    """Bring in an existing history: its revision files, as they are, from another
    project's versions directory; then record its head, and make it the baseline.
    Nothing is copied unless the result is one line of history."""
    import shutil  # only here: upgrade() at start-up reads this module
    import tempfile

    files = sorted(path for path in source.glob("*.py") if path.name != "__init__.py")
    if not files:
        sys.exit(
            f"No revision files in {source}: name your history's versions directory."
        )
    if clashes := [path.name for path in files if (VERSIONS / path.name).exists()]:
        sys.exit(f"{VERSIONS} already has {', '.join(clashes)}: nothing was copied.")
    with tempfile.TemporaryDirectory() as trial:
        for path in [*VERSIONS.glob("*.py"), *files]:
            shutil.copy2(path, trial)
        from alembic.script import ScriptDirectory

        try:
            heads = ScriptDirectory(
                str(MIGRATIONS), version_locations=[trial]
            ).get_heads()
        except Exception as error:  # a revision that imports what is not here
            sys.exit(f"Cannot read the revisions, and nothing was copied: {error}")
    if len(heads) != 1:
        sys.exit(
            f"With your revisions, the history would have {len(heads)} heads "
            f"({', '.join(sorted(heads))}), and nothing was copied. A history brought "
            "in needs a project without revisions of its own: one made with "
            "existing_history, or one whose shipped revisions were removed."
        )
    VERSIONS.mkdir(exist_ok=True)
    for path in files:
        shutil.copy2(path, VERSIONS / path.name)
    head = record()
    BASELINE.write_text(
        "# The newest revision of the history brought in (`adopt`). The tests lint\n"
        "# the revisions after it, and check that their downgrades leave no trace;\n"
        "# every other check, and the databases, run them all. Commit this file.\n"
        f"{head}\n"
    )
    print(
        f"Adopted {len(files)} revisions; head.txt records {head}, and baseline.txt "
        "makes it the baseline. Commit them all."
    )


def rebase(onto: str | None = None) -> None:
    """Two heads: put the bottom revision of the branch coming in after the other
    head, and record. What stays put is the side of the branch being merged into
    (or rebased onto), whose revisions other people, and databases, may have run."""
    script = script_directory()
    heads = script.get_heads()
    if len(heads) != 2:
        sys.exit(f"Expected two heads to put in line, found {len(heads)}: {heads}")
    staying = onto or head_side_of_the_conflict()
    if staying not in heads:
        sys.exit(
            "Cannot tell which head is the branch's being merged into: name it, as in "
            f"`{COMMAND} rebase --onto REVISION` (one of {', '.join(sorted(heads))})."
        )
    (coming,) = set(heads) - {staying}
    below = {each.revision for each in script.iterate_revisions(staying, "base")}
    for revision in script.iterate_revisions(coming, "base"):
        if revision.down_revision in below or revision.down_revision is None:
            repoint(Path(revision.path), staying)
            print(f"{revision.revision} now follows {staying} ({revision.path}).")
            break
    print(f"head.txt records {record()}. Read both revisions before you commit.")


def repoint(path: Path, down_revision: str) -> None:
    """Rewrite a revision file's down_revision (and its docstring's Revises:)."""
    text = path.read_text()
    text = re.sub(
        r"^(down_revision\b[^=]*=\s*).*$",
        lambda match: f'{match.group(1)}"{down_revision}"',
        text,
        count=1,
        flags=re.MULTILINE,
    )
    text = re.sub(
        r"^Revises: .*$", f"Revises: {down_revision}", text, count=1, flags=re.MULTILINE
    )
    path.write_text(text)


def head_side_of_the_conflict() -> str | None:
    """The head on the HEAD side of the conflict git left in head.txt: in a merge
    (or a cherry-pick), the branch being merged into; in a rebase, where git
    replays your commits onto theirs, theirs."""
    sides = re.findall(
        r"^<{7} [^\n]*\n(.*?)^={7}\n",
        RECORD.read_text() if RECORD.exists() else "",
        flags=re.MULTILINE | re.DOTALL,
    )
    values = (
        [
            line.split()
            for line in sides[0].splitlines()
            if line and not line.startswith("#")
        ]
        if sides
        else []
    )
    return values[0][0] if values else None

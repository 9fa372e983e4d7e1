"""Yours and ours: every rendered file is either the user's or the template's, and
the project says which three times over, in agreement with what Copier does: the
guide's Layout table, the file's own first line, and copier.yml's _skip_if_exists.
The template's runtime depends one way, on names of the user's files that every
release has had, and never on itself in a circle."""

import ast
import re
from pathlib import Path

import pytest
from helpers import COPIER_YML, SHIPPED_FILES

# What the Layout table may say of a file: whose it is, and what `copier update` does.
YOURS, TEMPLATES, IMMUTABLE, COPIERS = "yours", "the template's", "nobody's: immutable", "Copier's"
UPDATES = {
    "never touched": YOURS,
    "your edits kept, the template's changes merged": YOURS,
    "updated: do not edit": TEMPLATES,
    "never changed: databases record its id": IMMUTABLE,
    "rewritten by Copier; edit only `_src_path`": COPIERS,
}
# How a file's first line names its owner.
FIRST_LINES = {YOURS: re.compile(r"\bYours: "), TEMPLATES: re.compile(r"\bThe template's\b")}
# The names the runtime reads in the user's settings.py: every release has had them.
SETTINGS_NAMES = {"DATABASE_URL_ENV", "data_dir", "database_url"}


@pytest.fixture
def package(shape) -> str:
    return shape.get("program_name", "my_program")


def layout(project: Path) -> dict[str, tuple[str, str]]:
    """{path: (whose, on copier update)}, from the guide's table of files: the rows
    whose first cell is one path."""
    guide = (project / "docs" / "migrations.md").read_text()
    rows = {}
    for line in guide.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if line.startswith("| `") and len(cells) == 4:
            (path,) = re.fullmatch(r"`([^`]+)`", cells[0]).groups()
            rows[path] = (cells[1], cells[3])
    return rows


def rendered_files(shaped_render: Path) -> set[str]:
    return {
        path.relative_to(shaped_render).as_posix()
        for path in shaped_render.rglob("*")
        if path.is_file()
    }


def test_the_layout_names_every_file_the_template_wrote(shaped_render):
    """And nothing it did not write: the table is the user's map of the project."""
    listed = {path for path in layout(shaped_render) if not path.endswith("/")}
    assert listed == rendered_files(shaped_render)


def test_the_layout_says_whose_each_file_is_as_copier_treats_it(shaped_render, package):
    """Never touched: exactly copier.yml's _skip_if_exists (and versions/, whose
    other files are the user's revisions); the shipped revisions immutable; every
    other file of the user's merged, and the template's updated."""
    skipped = {
        path.replace("<< program_name >>", package) for path in COPIER_YML["_skip_if_exists"]
    }
    shipped = {f"{package}/migrations/versions/{name}" for name in SHIPPED_FILES.values()}
    for path, (whose, update) in layout(shaped_render).items():
        assert UPDATES.get(update) == whose, f"{path}: {whose}, {update}"
        if path in skipped or path.endswith("/versions/"):
            assert update == "never touched", path
        elif path in shipped:
            assert whose == IMMUTABLE, path
        else:
            assert update != "never touched", f"{path}: Copier updates it"
    assert skipped <= set(layout(shaped_render))


def test_each_files_first_line_names_its_owner_as_the_layout_does(shaped_render):
    """A user who opens a file learns at once whether it is theirs to edit."""
    for path, (whose, _) in layout(shaped_render).items():
        if whose in FIRST_LINES and not path.endswith("/"):
            first_line = (shaped_render / path).read_text().splitlines()[0]
            assert FIRST_LINES[whose].search(first_line), f"{path} ({whose}): {first_line}"


def test_the_runtime_reads_only_the_settings_every_release_has_had(rendered):
    """An update replaces the runtime but never settings.py's edits or models.py:
    the runtime may read only names settings.py has had since 0.1.0, and nothing
    of models.py (env.py hands it the metadata)."""
    runtime = rendered() / "my_program" / "migrations" / "runtime"
    read = set()
    for path in runtime.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            module = (isinstance(node, ast.ImportFrom) and node.module) or ""
            if module.split(".")[-1] == "models":  # from ...models, my_program.models
                pytest.fail(f"{path.name} imports the models")
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("settings"):
                read |= {alias.name for alias in node.names}
            if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "settings":
                read.add(node.attr)
    assert read, "the runtime reads the database's URL from settings.py"
    assert read <= SETTINGS_NAMES, f"names settings.py may not have: {read - SETTINGS_NAMES}"


def test_the_runtime_imports_itself_in_one_direction(rendered):
    """No import cycle among the runtime's modules, lazy imports included."""
    runtime = rendered() / "my_program" / "migrations" / "runtime"
    modules = {path.stem for path in runtime.glob("*.py")}
    imports = {}
    for path in runtime.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found |= {alias.name for alias in node.names if alias.name in modules}
                    found.add("__init__")
        imports[path.stem] = found & modules - {path.stem}

    def reaches(start: str, seen: tuple[str, ...]) -> None:
        for module in imports[start]:
            assert module not in seen, f"import cycle: {' -> '.join((*seen, module))}"
            reaches(module, (*seen, module))

    for module in modules:
        reaches(module, (module,))

"""A newcomer's first hour: the commands Copier prints after the copy and the set-up
the README shows work as written, with uv or with a fresh virtual environment's pip,
and pre-commit is installed with the rest. (What the guide's layout says of each
file: test_yours_and_ours.py.)"""

import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10, the minimum-versions job
    import tomli as tomllib

import pytest
from helpers import (
    BIN,
    SEEDED_ROWS,
    TEMPLATE_ROOT,
    Database,
    Project,
    commands,
    fenced_blocks,
)
from packaging.requirements import Requirement
from packaging.version import Version


def indented_blocks(message: str) -> list[list[str]]:
    """The command blocks of the after-copy message: runs of indented lines."""
    blocks, current = [], []
    for line in message.splitlines():
        if line.startswith("  ") and line.strip():
            current.append(line[2:])
        elif current:
            blocks.append(current)
            current = []
    return [*blocks, current] if current else blocks


def block_with(blocks: list[list[str]], text: str) -> list[str]:
    (block,) = [block for block in blocks if any(text in line for line in commands(block))]
    return block


def copy_for_real(directory: Path) -> tuple[Project, str]:
    """`copier copy --defaults` of the working tree into directory/project, run as a
    user runs it from `directory`: the Project, and the message Copier printed."""
    project = Project.at(directory, {})
    result = project.run(
        BIN / "copier", "copy", "--defaults", TEMPLATE_ROOT, "project", cwd=directory
    )
    message = result.stderr[result.stderr.index("Your project") :]
    return project, message


@pytest.fixture(scope="module")
def message(tmp_path_factory, isolated_tools) -> str:
    """What Copier prints after copying the template with default answers."""
    return copy_for_real(tmp_path_factory.mktemp("message"))[1]


@pytest.fixture
def readme(shaped_render) -> str:
    return (shaped_render / "README.md").read_text()


def test_the_message_upgrades_pip_before_it_installs_the_dev_group(message):
    """`pip install --group` needs pip 25.1; `python3 -m venv` brings whatever pip the
    Python came with (23.2 here), which stops at `--group` with "no such option"."""
    pip = commands(block_with(indented_blocks(message), "--group dev"))
    install = next(i for i, line in enumerate(pip) if "--group dev" in line)
    assert pip[0] == "python3 -m venv .venv", pip
    assert ".venv/bin/python -m pip install --upgrade pip" in pip[:install], pip
    assert pip[install] == ".venv/bin/python -m pip install -e . --group dev", pip
    # Each tool from the environment just made, with no activation to forget.
    assert pip[install + 1 :] == [".venv/bin/alembic upgrade head", ".venv/bin/pytest"]


def test_the_message_and_the_readme_install_with_the_same_commands(message, readme):
    """The README repeats the message's set-up: following either gives the same project."""
    in_message = commands(block_with(indented_blocks(message), "--group dev"))
    sh_blocks = [lines for language, lines in fenced_blocks(readme) if language == "sh"]
    in_readme = commands(block_with(sh_blocks, "--group dev"))
    install = in_message.index(".venv/bin/python -m pip install -e . --group dev") + 1
    assert in_readme == [*in_message[:install], ". .venv/bin/activate"]
    assert commands(block_with(sh_blocks, "uv sync")) == ["uv sync", ". .venv/bin/activate"]
    # The cd comes before both ways, not inside one of them.
    assert indented_blocks(message)[0] == ["cd project"]


def test_pre_commit_is_installed_with_the_dev_group(shaped_render, readme):
    """.pre-commit-config.yaml is useless without pre-commit; the dev group brings it,
    at a version that reads the stage names hook repositories now use (3.2)."""
    dev = tomllib.loads((shaped_render / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    (pre_commit,) = [Requirement(r) for r in dev if Requirement(r).name == "pre-commit"]
    (lower,) = [spec.version for spec in pre_commit.specifier if spec.operator == ">="]
    assert Version(lower) >= Version("3.2")
    sh_blocks = [lines for language, lines in fenced_blocks(readme) if language == "sh"]
    assert commands(block_with(sh_blocks, "pre-commit install")) == ["pre-commit install"]


def test_comments_in_the_readme_and_the_message_line_up(readme, message):
    """In each shell or plain block, the comments after the commands (or the notes
    after the paths) start in one column, however long program_name is."""
    blocks = [lines for language, lines in fenced_blocks(readme) if language in ("", "sh")]
    for lines in [*blocks, *indented_blocks(message)]:
        columns = {
            line: match.end() - 1
            for line in lines
            if not line.lstrip().startswith("#") and (match := re.match(r"\s*\S.*?\s{2,}\S", line))
        }
        shown = "\n".join(f"{column:3} {line}" for line, column in columns.items())
        assert len(set(columns.values())) <= 1, f"comments in several columns:\n{shown}"


@pytest.mark.slow
def test_a_pip_user_follows_the_message_then_installs_the_pre_commit_hook(tmp_path):
    """From a fresh `python3 -m venv` (an old pip) to a migrated database and the
    project's tests passing, with the message's commands run as printed; then the
    README's activation and `pre-commit install`. Slow: it installs from the index."""
    project, message = copy_for_real(tmp_path)
    blocks = indented_blocks(message)
    script = [*commands(blocks[0]), *commands(block_with(blocks, "--group dev"))]
    # pip's cache, not the project's private HOME: the same wheels every run.
    env = {"PYTHONPATH": None, "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip")}
    project.run("sh", "-e", "-c", "\n".join(script), cwd=tmp_path, env=env)
    assert Database.sqlite_file(project.default_database).accounts() == SEEDED_ROWS

    readme = (project.path / "README.md").read_text()
    sh_blocks = [lines for language, lines in fenced_blocks(readme) if language == "sh"]
    activate = commands(block_with(sh_blocks, "--group dev"))[-1]
    project.run("git", "init", "--quiet")
    hook = [activate, *commands(block_with(sh_blocks, "pre-commit install"))]
    project.run("sh", "-e", "-c", "\n".join(hook), env=env)
    assert (project.path / ".git" / "hooks" / "pre-commit").is_file()
    version = project.run(project.path / ".venv" / "bin" / "pre-commit", "--version", env=env)
    assert version.stdout.startswith("pre-commit ")

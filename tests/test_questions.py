"""copier.yml: the questions, their defaults and their validators, through the real
`copier` program as a user runs it (no --trust), and the validator tables through
Copier's Python API: the same validation, without a new interpreter for each answer."""

import json
import re
import subprocess
import sys
from importlib import metadata

import copier
import pytest
import yaml
from helpers import (
    BIN,
    COPIER_YML,
    ENGINE_VARIANTS,
    MATRIX,
    QUESTIONS,
    SEED_VARIANTS,
    TEMPLATE_ROOT,
)
from packaging.requirements import Requirement


def copier_copy(destination, *data: str) -> subprocess.CompletedProcess:
    """`copier copy --defaults` of the working tree, answers given with --data."""
    args = [BIN / "copier", "copy", "--defaults", "--vcs-ref", "HEAD"]
    for answer in data:
        args += ["--data", answer]
    args += [TEMPLATE_ROOT, destination]
    return subprocess.run(
        [str(arg) for arg in args], capture_output=True, text=True, timeout=120, check=False
    )


def refusal(destination, **data) -> str:
    """What Copier says when it refuses these answers; it must write nothing."""
    with pytest.raises(ValueError) as refused:
        copier.run_copy(
            str(TEMPLATE_ROOT), destination, data=data, defaults=True, vcs_ref="HEAD", quiet=True
        )
    assert not destination.exists(), "a refused answer must leave nothing behind"
    return " ".join(str(refused.value).split())


def test_every_matrix_key_is_a_question():
    """Copier silently ignores unknown answers: a typo would test nothing."""
    used = {key for answers in MATRIX + SEED_VARIANTS + ENGINE_VARIANTS for key in answers}
    assert used <= QUESTIONS, f"not questions in copier.yml: {used - QUESTIONS}"


# Refused program names, and what the refusal says is allowed.
BAD_PROGRAM_NAMES = {
    "my-program": "lowercase letter, then lowercase letters, digits or underscores",
    "1abc": "lowercase letter, then lowercase letters, digits or underscores",
    "MyProgram": "lowercase letter, then lowercase letters, digits or underscores",
    "": "lowercase letter, then lowercase letters, digits or underscores",
    "class": "Python keyword",
    "alembic": "standard-library or dependency module",
    "logging": "standard-library or dependency module",
    "sqlalchemy": "standard-library or dependency module",
    "tests": "standard-library or dependency module",
    "filelock": "standard-library or dependency module",
    "aiosqlite": "standard-library or dependency module",
    "pluggy": "standard-library or dependency module",
    "docs": "standard-library or dependency module",
    "a" * 65: "at most 64 characters",
    "a" * 260: "at most 64 characters",
}


@pytest.mark.parametrize("program_name", BAD_PROGRAM_NAMES, ids=lambda name: name[:20])
def test_bad_program_name_is_refused_saying_what_is_allowed(tmp_path, program_name):
    message = refusal(tmp_path / "project", program_name=program_name)
    assert message.startswith("Validation error for question 'program_name': program_name")
    quoted = (json.dumps(program_name), f"'{program_name}'", f"got {len(program_name)}")
    assert any(value in message for value in quoted), "the message shows the refused value"
    assert BAD_PROGRAM_NAMES[program_name] in message


# What the rendered project installs, all answers together: its dependencies, its
# extras, its dev group and its build backend (template/pyproject.toml.jinja).
PROJECT_REQUIREMENTS = [
    "alembic[tz]",
    "filelock",
    "sqlalchemy[asyncio]",
    "aiosqlite",
    "psycopg[binary]",
    "pymysql",
    "aiomysql",
    "pre-commit",
    "pytest",
    "pytest-alembic",
    "ruff",
    "squawk-cli",
]


def importable_names(requirements: list[str]) -> set[str]:
    """The top-level names that these distributions, and theirs in turn, install,
    as this environment finds them (the dev one has them all)."""
    names, seen, todo = set(), set(), [Requirement(each) for each in requirements]
    while todo:
        requirement = todo.pop()
        if (requirement.name, *sorted(requirement.extras)) in seen:
            continue
        seen.add((requirement.name, *sorted(requirement.extras)))
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:  # the oldest versions' set lacks a few
            continue
        tops = {
            file.parts[0].removesuffix(".py")
            for file in distribution.files or []
            if len(file.parts) >= 1 and not file.parts[0].endswith((".dist-info", ".data"))
        }
        names |= {top for top in tops if top.isidentifier()}
        for needed in map(Requirement, distribution.requires or []):
            extras = requirement.extras | {""}
            if not needed.marker or any(needed.marker.evaluate({"extra": e}) for e in extras):
                todo.append(needed)
    return names


def test_no_program_name_can_shadow_a_module_the_project_imports():
    """reserved_module_names holds the standard library and every top-level module
    the rendered project's distributions install, derived here from the installed
    distributions: a new dependency's module cannot be forgotten."""
    reserved = set(yaml.safe_load(COPIER_YML["reserved_module_names"]["default"]))
    derived = set(sys.stdlib_module_names) | importable_names(PROJECT_REQUIREMENTS)
    missing = {name for name in derived if re.fullmatch("[a-z][a-z0-9_]*", name)} - reserved
    assert not missing, f"add to reserved_module_names in copier.yml: {sorted(missing)}"


def test_the_copier_command_shows_the_refusal_and_writes_nothing(tmp_path):
    destination = tmp_path / "project"
    result = copier_copy(destination, "program_name=my-program")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "program_name must be a Python package name" in last_line
    assert 'got "my-program"' in last_line
    assert not destination.exists()


def test_copy_without_trust_succeeds_and_says_what_to_run_next(tmp_path):
    """No _tasks or extensions: a plain `copier copy` needs no --trust."""
    destination = tmp_path / "shop app"
    result = copier_copy(destination, "project_name=Shop App")
    assert result.returncode == 0, result.stderr
    assert (destination / "shop_app" / "migrations" / "env.py").is_file()
    message = result.stdout + result.stderr
    assert f"cd '{destination}'" in message, "a path with a space is quoted"
    assert "alembic upgrade head" in message
    assert "SHOP_APP_DATABASE_URL" in message


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("project_name=   ", "project_name must not be empty"),
        ('project_name=Bob "The" Shop', "project_name may not contain double quotes"),
        ("description=two\\lines", "description may not contain double quotes, backslashes"),
        ('author_name=A "B" C', "author_name may not contain double quotes"),
        ("author_email=not-an-address", "author_email must look like name@example.com"),
        ("author_email=a b@example.com", "author_email must look like name@example.com"),
    ],
)
def test_other_answers_are_checked_too(tmp_path, answer, says):
    """What would break pyproject.toml or a docstring is refused with a reason."""
    question, value = answer.split("=", 1)
    assert says in refusal(tmp_path / "project", **{question: value})


@pytest.mark.parametrize(
    ("project_name", "program_name"),
    [("My Program", "my_program"), ("Shop-App 2", "shop_app_2"), ("  Billing  ", "billing")],
)
def test_program_name_defaults_from_project_name(rendered, project_name, program_name):
    project = rendered(project_name=project_name)
    assert (project / program_name / "models.py").is_file()
    settings = (project / program_name / "settings.py").read_text()
    assert f'DATABASE_URL_ENV = "{program_name.upper()}_DATABASE_URL"' in settings


# Characters that end a line or a string in alembic.ini, pyproject.toml or a Python
# file, each tried in one of the free-text answers. The first is a real attack: a
# carriage return made configparser read a second line, pointing Alembic at code
# of the attacker's choosing.
UNSAFE_ANSWERS = [
    ("project_name", "Shop\rversion_locations = /tmp/elsewhere"),
    ("description", "two\nlines"),
    ("author_name", "nul\x00byte"),
    ("author_email", "me@example.com\x1b[2J"),
    ("project_name", "del\x7f"),
    ("description", "next\x85line"),
    ("author_name", "line\u2028separator"),
    ("project_name", "paragraph\u2029separator"),
    ("program_name", "pkg\n"),  # "$" in a regular expression matches before "\n"
    ("description", "tab\tstop"),
]


@pytest.mark.parametrize(("question", "value"), UNSAFE_ANSWERS, ids=repr)
def test_control_characters_are_refused_by_question(tmp_path, question, value):
    """No answer may change what a rendered file means; the refusal names the
    question and never echoes a raw control character to the terminal."""
    message = refusal(tmp_path / "project", **{question: value})
    assert message.startswith(f"Validation error for question '{question}': {question}")
    assert not any(ord(character) < 32 or 0x7F <= ord(character) <= 0x9F for character in message)

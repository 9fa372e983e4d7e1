"""Fixtures for the template's tests: render once per answer set, run the real tools.

Renders are cached per answer set for the whole session (per xdist worker) and are
read-only; a test that runs or changes a project gets its own copy from `project`.
"""

import shutil
from pathlib import Path

import pytest
from helpers import TEMPLATE_ROOT, Project


@pytest.fixture(scope="session", autouse=True)
def isolated_tools(tmp_path_factory):
    """Keep the developer's git identity and Copier settings out of the results."""
    settings = tmp_path_factory.mktemp("copier-settings") / "settings.yml"
    settings.write_text("{}\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COPIER_SETTINGS_PATH", str(settings))
        for role in ("AUTHOR", "COMMITTER"):
            patch.setenv(f"GIT_{role}_NAME", "Template Tests")
            patch.setenv(f"GIT_{role}_EMAIL", "tests@example.com")
        yield


@pytest.fixture(scope="session")
def rendered(copie_session):
    """render(**answers) -> path of a read-only project rendered with those answers."""
    cache: dict[tuple, Path] = {}

    def render(**answers) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in cache:
            result = copie_session.copy(extra_answers=answers, template_dir=TEMPLATE_ROOT)
            # pytest-copie turns a failed render into attributes: fail loudly here.
            assert result.exception is None, f"render {answers} failed: {result.exception!r}"
            assert result.exit_code == 0, f"render {answers} exited {result.exit_code}"
            # Copier ignores unknown answer keys without a word.
            unused = {k: v for k, v in answers.items() if result.answers.get(k) != v}
            assert not unused, f"answers not taken by the template: {unused}"
            cache[key] = result.project_dir
        return cache[key]

    return render


@pytest.fixture
def project(rendered, tmp_path):
    """project(**answers) -> a Project: a private copy of the render, with its own HOME."""

    def make(**answers) -> Project:
        path = tmp_path / "project"
        shutil.copytree(rendered(**answers), path)
        home = tmp_path / "home"
        home.mkdir()
        env = {
            "HOME": str(home),
            "XDG_DATA_HOME": None,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        made = Project(path=path, home=home, answers=answers, env=env)
        made.env[made.url_env] = None
        return made

    return make

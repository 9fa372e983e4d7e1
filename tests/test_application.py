"""The application's side: the guide's FastAPI and Flask examples, copied from the
rendered guide as a user would, run on the project's database.py: they migrate at
start-up, write an account and read every name back, on SQLite and on each server,
with the project's synchronous and asyncio engines."""

import re

import pytest
from helpers import BACKENDS, SEEDED_ROWS

# The guide's blocks, by their first line.
FASTAPI, FLASK = (
    "# app.py: a FastAPI application on this project's database",
    "# app.py: a Flask application on this project's database",
)
# What a user's test of each does: add Ada, then list the names.
CLIENTS = {
    FASTAPI: """
from fastapi.testclient import TestClient
from app import app

with TestClient(app) as client:  # runs the lifespan: migrations, then dispose
    added = client.post("/accounts", params={"name": "Ada"})
    assert added.status_code == 201, added.text
    print(added.json(), client.get("/accounts").json())
""",
    FLASK: """
from app import create_app

client = create_app().test_client()
added = client.post("/accounts", query_string={"name": "Ada"})
assert added.status_code == 201, added.text
print(added.json["id"], client.get("/accounts").json)
""",
}


def guide_block(project, first: str) -> str:
    guide = (project.path / "docs" / "migrations.md").read_text()
    blocks = re.findall(r"```python\n(# app\.py.*?)```", guide, flags=re.DOTALL)
    (block,) = [block for block in blocks if block.startswith(first)]
    return block


@pytest.mark.parametrize(
    ("example", "async_engine"),
    [(FASTAPI, False), (FASTAPI, True), (FLASK, False)],
    ids=["fastapi-sync", "fastapi-async", "flask"],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_guides_applications_run_on_the_projects_database(
    project_on, backend, example, async_engine
):
    if example == FASTAPI:
        pytest.importorskip("fastapi", reason="FastAPI needs Python 3.11 here")
    project, database = project_on(backend, async_engine=async_engine)
    (project.path / "app.py").write_text(guide_block(project, example))

    printed = project.python("-c", CLIENTS[example]).stdout
    names = [name for _, name, _ in SEEDED_ROWS]
    ada = len(names) + 1
    assert printed.split(maxsplit=1) == [str(ada), f"{[*names, 'Ada']}\n"]
    assert [row[:2] for row in database.accounts()][-1] == (ada, "Ada")


def test_flask_is_shown_where_it_fits(project):
    """Flask runs views synchronously: an asyncio project's guide says so, and
    shows no Flask code its AsyncEngine could not serve."""
    guide = (project(async_engine=True).path / "docs" / "migrations.md").read_text()
    assert FLASK not in guide
    assert "Flask runs each view synchronously" in guide

#!/usr/bin/env bash
# `make demo`: render the template with its default answers into build/demo, then
# migrate the project's default SQLite database as a new user would.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BIN:?run through make demo}"

demo=$PWD/build/demo
project=$demo/my_program
rm -rf "$demo"
mkdir -p "$demo"

# The default database lives in $XDG_DATA_HOME: keep the demo's out of your home.
export XDG_DATA_HOME=$demo/data
unset MY_PROGRAM_DATABASE_URL

"$BIN/copier" copy --defaults --vcs-ref HEAD --quiet "$PWD" "$project"
cd "$project"
echo "==> alembic upgrade head"
"$BIN/alembic" upgrade head
echo "==> alembic current"
"$BIN/alembic" current
"$BIN/python" - <<'PY'
import sqlite3

from sqlalchemy import make_url

from my_program.settings import database_url

path = make_url(database_url()).database
print(f"\nThe database: {path}")
with sqlite3.connect(path) as connection:
    for row in connection.execute("SELECT id, name, create_date FROM account ORDER BY id"):
        print("  account", row)
PY
echo
echo "The project is in build/demo/my_program. Its own tests: make demo-test"

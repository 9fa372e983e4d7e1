"""Import the models, as an application does; prints whether Alembic came along.

python imports_of_models.py PACKAGE
"""

import importlib
import sys

importlib.import_module(f"{sys.argv[1]}.models")
print("alembic" in sys.modules)

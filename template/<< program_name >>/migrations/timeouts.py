"""The template's: where revisions written before 0.2 import set_for_this_revision.

New revisions import it from the package: `from <package>.migrations import
set_for_this_revision`.
"""

from .runtime.timeouts import set_for_this_revision

__all__ = ["set_for_this_revision"]

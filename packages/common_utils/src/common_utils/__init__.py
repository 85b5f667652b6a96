"""common-utils: the shared base of the Commons services.

The public API is what this module exports; modules whose names start with ``_`` are private.
"""

from common_utils.__about__ import __version__

__all__ = ["__version__"]

"""common-auth: access tokens for the Commons services.

The public API is what this module exports; modules whose names start with ``_`` are private.
"""

from common_auth.__about__ import __version__

__all__ = ["__version__"]

"""common-clients: typed clients for the Commons services and the runtime they stand on.

The public API is what this module exports; modules whose names start with ``_`` are private.
"""

from common_clients.__about__ import __version__

__all__ = ["__version__"]

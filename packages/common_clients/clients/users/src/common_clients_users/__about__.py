"""The version of common-clients-users.

Read by hatchling at build time and bumped by the release; the rest of this folder is generated.
"""

__version__ = "0.2.0"

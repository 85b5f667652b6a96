"""The version of common-auth, read by hatchling at build time and bumped by the release."""

__version__ = "0.3.2"

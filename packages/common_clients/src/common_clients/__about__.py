"""The version of common-clients, read by hatchling at build time and bumped by the release."""

__version__ = "0.5.2"

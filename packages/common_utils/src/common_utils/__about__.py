"""The version of common-utils, read by hatchling at build time and bumped by the release."""

__version__ = "0.6.0"

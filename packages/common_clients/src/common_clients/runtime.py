"""The names generated client code is built from, beyond those of :mod:`common_clients`.

A generated client imports only :mod:`common_clients` (the clients, pagination, options, unknown
enum values) and this module; both are public and change only with a release that says so. Hand-
written code rarely needs these names:

- :class:`GeneratedModel`, the base of every generated model (unknown fields ignored, fields
  settable by attribute name or wire name);
- :func:`discriminate`, the chooser of a tagged union's member
  (``Discriminator(discriminate(...))``);
- :func:`path_param`, one value as a percent-encoded path segment;
- :class:`RawMethod` / :class:`AsyncRawMethod`, a resource method seen from its
  ``...WithRawResponse`` class.
"""

from common_clients._base_client import path_param
from common_clients._generated import GeneratedModel, discriminate
from common_clients._response import AsyncRawMethod, RawMethod

__all__ = ["AsyncRawMethod", "GeneratedModel", "RawMethod", "discriminate", "path_param"]

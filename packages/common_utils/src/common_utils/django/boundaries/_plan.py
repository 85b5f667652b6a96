"""The planned services: a small TOML map of service name -> app labels, read as untrusted input.

```toml
[services]
users = ["accounts"]
shop = ["catalog", "orders"]
```

An app the map does not list is a service of its own, named after the app.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from common_utils._errors import BoundariesInputError
from common_utils.django.boundaries._files import read_untrusted

MAX_MAP_BYTES = 64 * 1024
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Plan:
    """Which planned service each app belongs to."""

    services: Mapping[str, tuple[str, ...]]
    source: str | None = None

    def service_of(self, app: str) -> str:
        """The planned service of ``app``: the one listing it, else a service named after it."""
        for service, apps in self.services.items():
            if app in apps:
                return service
        return app

    def planned_apps(self) -> set[str]:
        """Every app the map lists."""
        return {app for apps in self.services.values() for app in apps}


def load_plan(path: Path | None, installed: Collection[str]) -> Plan:
    """Read the map at ``path`` (None: every app its own service), checked against ``installed``."""
    if path is None:
        return Plan(services={})
    text = read_untrusted(path, what="services map", limit=MAX_MAP_BYTES)
    where = f"services map {path}"
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BoundariesInputError(f"{where}: not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"services"})
    if unknown:
        raise BoundariesInputError(
            f"{where}: unknown key {unknown[0]!r} (the file holds one [services] table)"
        )
    table = document.get("services")
    if not isinstance(table, dict):
        raise BoundariesInputError(
            f'{where}: no [services] table (e.g. [services] then shop = ["catalog", "orders"])'
        )
    services: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for service, apps in table.items():
        if not _SERVICE_NAME.fullmatch(service):
            raise BoundariesInputError(
                f"{where}: service name {service[:80]!r} must be letters, digits, '_', '.' or '-' "
                "(at most 64)"
            )
        services[service] = _checked_apps(apps, f"{where}: services.{service}", installed)
        for app in services[service]:
            if app in owner:
                raise BoundariesInputError(
                    f"{where}: services.{service}: app {app!r} is listed "
                    + ("twice" if owner[app] == service else f"and in services.{owner[app]}")
                )
            owner[app] = service
    for app in installed:
        if app not in owner and app in services:
            raise BoundariesInputError(
                f"{where}: services.{app} is named like the app {app!r} but does not list it: "
                "list the app there or rename the service"
            )
    return Plan(services=services, source=str(path))


def _checked_apps(apps: object, key: str, installed: Collection[str]) -> tuple[str, ...]:
    if not isinstance(apps, list) or not all(isinstance(app, str) for app in apps):
        raise BoundariesInputError(f"{key}: must be a list of app labels (strings)")
    if not apps:
        raise BoundariesInputError(f"{key}: lists no apps")
    for app in apps:
        if app not in installed:
            raise BoundariesInputError(
                f"{key}: unknown app {app[:80]!r} (installed app labels: "
                f"{', '.join(sorted(installed))})"
            )
    return tuple(apps)

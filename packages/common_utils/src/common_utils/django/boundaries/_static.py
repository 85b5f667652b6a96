"""Ties read from the loaded project: model relations and signal receivers across apps."""

from __future__ import annotations

import sys
import weakref
from collections.abc import Iterable
from typing import Any

from django.apps import AppConfig, apps
from django.db import models
from django.db.models import signals as model_signals
from django.dispatch import Signal

from common_utils.django.boundaries._code import ModuleOwners, display_path
from common_utils.django.boundaries._ties import Tie

_MODEL_SIGNALS = (
    "pre_init",
    "post_init",
    "pre_save",
    "post_save",
    "pre_delete",
    "post_delete",
    "m2m_changed",
    "pre_migrate",
    "post_migrate",
)


def relation_ties() -> list[Tie]:
    """Foreign keys, one-to-ones, many-to-manys, generic relations, parents and proxies."""
    ties: list[Tie] = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy and meta.concrete_model is not None:
            concrete = meta.concrete_model._meta
            if concrete.app_label != meta.app_label:
                ties.append(
                    Tie(
                        kind="relation",
                        source=meta.app_label,
                        target=concrete.app_label,
                        key=f"relation:{meta.label}(proxy)->{concrete.label}",
                        detail=f"{meta.label} is a proxy of {concrete.label}",
                    )
                )
        for fld in meta.get_fields(include_hidden=True):
            tie = _field_tie(model, fld)
            if tie is not None:
                ties.append(tie)
    return sorted(ties, key=lambda tie: tie.key)


def _field_tie(model: type[models.Model], fld: Any) -> Tie | None:
    if not fld.is_relation or (getattr(fld, "auto_created", False) and not fld.concrete):
        return None  # reverse accessors are seen from the side that declares the relation
    related = fld.related_model
    if related is None or isinstance(related, str):
        return None  # a GenericForeignKey: its foreign key to ContentType is the tie
    meta, other = model._meta, related._meta
    if other.app_label == meta.app_label:
        return None
    kind = "relation"
    if fld.__class__.__name__ == "GenericRelation":
        kind = "generic"
        what = "generic relation"
    elif getattr(fld, "many_to_many", False):
        what = "many-to-many"
    elif getattr(fld, "remote_field", None) is not None and getattr(
        fld.remote_field, "parent_link", False
    ):
        what = "parent (multi-table inheritance)"
    elif getattr(fld, "one_to_one", False):
        what = "one-to-one"
    else:
        what = "foreign key"
    return Tie(
        kind=kind,
        source=meta.app_label,
        target=other.app_label,
        key=f"relation:{meta.label}.{fld.name}->{other.label}",
        detail=f"{meta.label}.{fld.name} -> {other.label} ({what})",
    )


def signal_ties(owners: ModuleOwners, custom_signals: dict[tuple[str, str], str]) -> list[Tie]:
    """Receivers in one app connected to a model of another, or to another app's own signal.

    ``custom_signals``: (module, name) -> app label of each ``Signal()`` the source defines.
    """
    senders: dict[int, str] = {}
    sender_names: dict[int, str] = {}
    for model in apps.get_models(include_auto_created=True):
        senders[id(model)] = model._meta.app_label
        sender_names[id(model)] = model._meta.label
    for config in apps.get_app_configs():
        senders[id(config)] = config.label
        sender_names[id(config)] = f"app {config.label}"
    checked: list[tuple[str, Signal, str | None]] = [
        (f"django.db.models.signals.{name}", getattr(model_signals, name), None)
        for name in _MODEL_SIGNALS
    ]
    for (module_name, name), app in sorted(custom_signals.items()):
        defining = sys.modules.get(module_name)
        signal = getattr(defining, name, None) if defining is not None else None
        if isinstance(signal, Signal):
            checked.append((f"{module_name}.{name}", signal, app))
    ties: dict[str, Tie] = {}
    for signal_name, signal, defined_in in checked:
        for lookup_key, receiver in _receivers(signal):
            function = _unwrap(receiver)
            module = str(getattr(function, "__module__", None) or type(function).__module__)
            receiver_app = owners.owner(module)
            if receiver_app is None:
                continue
            sender_id = lookup_key[1] if isinstance(lookup_key, tuple) else None
            sender_app = senders.get(sender_id) if isinstance(sender_id, int) else None
            sender = sender_names.get(sender_id, "any sender") if isinstance(sender_id, int) else ""
            short = signal_name if defined_in else signal_name.rpartition(".")[2]
            for target in {defined_in, sender_app} - {None, receiver_app}:
                assert target is not None
                qualname = f"{module}.{getattr(function, '__qualname__', type(function).__name__)}"
                key = f"signal:{qualname}<-{signal_name}[{sender}]"
                ties[f"{key}|{target}"] = Tie(
                    kind="signal",
                    source=receiver_app,
                    target=target,
                    key=key if target == sender_app or sender_app is None else f"{key}@{target}",
                    detail=f"{qualname} receives {short} (sender: {sender})",
                    where=_where(function),
                )
    return sorted(ties.values(), key=lambda tie: tie.key)


def _receivers(signal: Signal) -> Iterable[tuple[Any, Any]]:
    # Entries are (lookup key, receiver[, is_async]) with the receiver weakly referenced unless
    # connected with weak=False; the key is (id of the receiver, id of the sender).
    for entry in list(signal.receivers):
        receiver = entry[1]
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        if receiver is not None:
            yield entry[0], receiver


def _unwrap(receiver: Any) -> Any:
    function = getattr(receiver, "__func__", receiver)
    return getattr(function, "__wrapped__", function)


def _where(function: Any) -> str:
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    return f"{display_path(code.co_filename)}:{code.co_firstlineno}"


def app_configs() -> list[AppConfig]:
    """The installed apps, Commons' own app left out."""
    return [config for config in apps.get_app_configs() if config.label != "common_utils"]

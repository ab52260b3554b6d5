"""Provider registry: built-ins and plugins (entry point group `vidpipe.providers`) alike."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from vidpipe.errors import BadInput
from vidpipe.providers.base import Provider
from vidpipe.settings import ProjectSettings

# name -> "module:Class", imported only when a project uses it (keeps optional SDKs lazy)
BUILTIN = {"local": "vidpipe.providers.local:LocalProvider"}


def available() -> dict[str, str]:
    found = dict(BUILTIN)
    for point in entry_points(group="vidpipe.providers"):
        found.setdefault(point.name, point.value)
    return found


def provider_class(name: str, stage: str) -> type[Provider]:
    known = available()
    if name not in known:
        raise BadInput(
            f"unknown provider {name!r} for the {stage} stage; "
            f"available: {', '.join(sorted(known))}"
        )
    module_name, _, class_name = known[name].partition(":")
    cls: type[Provider] = getattr(importlib.import_module(module_name), class_name)
    if stage not in cls.stages:
        serving = sorted(n for n in known if stage in provider_class_stages(n))
        raise BadInput(
            f"provider {name!r} cannot make the {stage} stage; use one of: {', '.join(serving)}"
        )
    return cls


def provider_class_stages(name: str) -> frozenset[str]:
    module_name, _, class_name = available()[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name).stages


def provider_for(stage: str, settings: ProjectSettings) -> Provider:
    return provider_class(getattr(settings.providers, stage), stage)(settings)

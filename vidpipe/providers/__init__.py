"""Provider registry: built-ins and plugins (entry point group `vidpipe.providers`) alike."""

from __future__ import annotations

import functools
import importlib
from typing import Any

from pydantic import ValidationError

from vidpipe.errors import BadInput
from vidpipe.project.settings import STAGES, ProjectSettings, describe_validation_error
from vidpipe.project.stages import SOUND_STAGES
from vidpipe.providers.base import Provider

# name -> "module:Class", imported only when a project uses it (keeps optional SDKs lazy)
BUILTIN = {
    "local": "vidpipe.providers.local:LocalProvider",
    "google": "vidpipe.providers.google:GoogleProvider",
}


# The sound stages are served by classes of their own, under the same provider names (a
# provider's options stay one model, that of its main class); plugins add theirs under the
# entry point group `vidpipe.<stage>` (e.g. `vidpipe.narration`).
SOUND_BUILTIN = {
    "narration": {
        "local": "vidpipe.providers.local_sound:LocalNarrator",
        "google": "vidpipe.providers.google_speech:GoogleNarrator",
    },
    "music": {"local": "vidpipe.providers.local_sound:LocalMusic"},
}


def sound_available(stage: str) -> dict[str, str]:
    from importlib.metadata import entry_points  # (importing it takes milliseconds)

    found = dict(SOUND_BUILTIN[stage])
    for point in entry_points(group=f"vidpipe.{stage}"):
        found.setdefault(point.name, point.value)
    return found


def available() -> dict[str, str]:
    found = dict(BUILTIN)
    for name, value in plugins().items():
        found.setdefault(name, value)
    return found


@functools.cache
def plugins() -> dict[str, str]:
    """Installed provider plugins, read once per process: scanning the installed packages'
    entry points takes milliseconds, and a build looks providers up for every scene."""
    from importlib.metadata import entry_points  # (and importing it takes milliseconds too)

    return {point.name: point.value for point in entry_points(group="vidpipe.providers")}


def provider_class(name: str, stage: str) -> type[Provider]:
    if stage in SOUND_STAGES:
        builtin = SOUND_BUILTIN[stage]
        makers = builtin if name in builtin else sound_available(stage)
        if name not in makers:
            raise BadInput(
                f"provider {name!r} cannot make the {stage} stage; use one of: "
                f"{', '.join(sorted(makers))}"
            )
        return _load(makers[name])
    # a built-in needs no scan of the installed packages (built-ins win over plugins anyway)
    known = BUILTIN if name in BUILTIN else available()
    if name not in known:
        raise BadInput(
            f"unknown provider {name!r} for the {stage} stage; "
            f"available: {', '.join(sorted(known))}"
        )
    cls = _load(known[name])
    if stage not in cls.stages:
        serving = sorted(n for n in known if stage in provider_class_stages(n))
        raise BadInput(
            f"provider {name!r} cannot make the {stage} stage; use one of: {', '.join(serving)}"
        )
    return cls


def _load(spec: str) -> type[Provider]:
    module_name, _, class_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def provider_class_stages(name: str) -> frozenset[str]:
    return _load(available()[name]).stages


def provider_for(stage: str, settings: ProjectSettings, project_id: str = "") -> Provider:
    """The provider of `stage`; `project_id`: the project a build step runs it for."""
    provider = provider_class(getattr(settings.providers, stage), stage)(settings)
    provider.project_id = project_id
    return provider


def check_providers(settings: ProjectSettings, source: str = "settings") -> ProjectSettings:
    """Refuse (BadInput) bad provider options, or a stage that its provider cannot run as
    configured, before a build spends anything. Returns the settings with the options of every
    provider in use filled in with their defaults."""
    try:
        options = validate_options(settings)
    except ValueError as err:
        raise BadInput(f"{source}: provider_options: {err}") from None
    settings = settings.model_copy(update={"provider_options": options})
    for stage in STAGES:
        provider_for(stage, settings).check(stage)
    for stage in sound_stages_in_use(settings):
        provider_for(stage, settings).check(stage)
    return settings


def sound_stages_in_use(settings: ProjectSettings) -> list[str]:
    """The sound stages a build of these settings runs."""
    on = {"narration": settings.narration, "music": settings.music}
    return [stage for stage in SOUND_STAGES if on[stage]]


def validate_options(settings: ProjectSettings) -> dict[str, dict[str, Any]]:
    """`provider_options` checked by each provider's options model, with the defaults of every
    provider in use filled in (raises ValueError naming the bad `<provider>.<option>`)."""
    known = available()
    in_use = {getattr(settings.providers, stage) for stage in STAGES}
    in_use |= {getattr(settings.providers, stage) for stage in sound_stages_in_use(settings)}
    checked: dict[str, dict[str, Any]] = {}
    for name in sorted(set(settings.provider_options) | (in_use & set(known))):
        given = settings.provider_options.get(name, {})
        if name not in known:
            raise ValueError(
                f"options for an unknown provider {name!r}; available: {', '.join(sorted(known))}"
            )
        model = _load(known[name]).options_model
        if model is None:
            if given:
                raise ValueError(f"provider {name!r} has no options (got {sorted(given)})")
            continue
        try:
            checked[name] = model.model_validate(given).model_dump(mode="json")
        except ValidationError as err:
            raise ValueError(describe_validation_error(err, prefix=f"{name}.")) from None
    return checked

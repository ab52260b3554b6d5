"""A project folder: the truth about one video.

```
projects/<id>/
  project.yaml          the user's settings
  storyboard.json       scenes (hand-editable)
  characters/<id>.png   a portrait of each character (hand-replaceable)
  keyframes/<scene>.png
  clips/<scene>.mp4
  final.mp4
  .vidpipe/             build state: doit's dependency DB, the lock, status, provenance
```
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from vidpipe import fsutil
from vidpipe.errors import BadInput, ProjectBusy, ProjectNotFound
from vidpipe.project.location import BUILD_LOCK, PROJECT_ID_PATTERN, STATE_FOLDER, projects_root
from vidpipe.project.settings import ProjectSettings, validate_settings

# libyaml's safe loader when PyYAML has it (several times faster), else the pure-Python one
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def new_project_id(prompt: str) -> str:
    words = re.findall(r"[a-z0-9]+", prompt.lower())
    slug = "-".join(words)[:40].strip("-") or "video"
    return f"{slug}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def id(self) -> str:
        return self.root.name

    # --- paths -----------------------------------------------------------------------------
    @property
    def settings_file(self) -> Path:
        return self.root / "project.yaml"

    @property
    def storyboard_file(self) -> Path:
        return self.root / "storyboard.json"

    @property
    def final_file(self) -> Path:
        return self.root / "final.mp4"

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_FOLDER

    def keyframe_file(self, scene_id: str) -> Path:
        return self.root / "keyframes" / f"{scene_id}.png"

    def portrait_file(self, character_id: str) -> Path:
        return self.root / "characters" / f"{character_id}.png"

    # --- the sound (vidpipe.build.sound_steps) ---
    def narration_file(self, scene_id: str) -> Path:
        return self.root / "narration" / f"{scene_id}.wav"

    @property
    def picture_file(self) -> Path:
        """The cut with the clips' own sound, before the soundtrack is muxed onto it."""
        return self.root / "sound" / "picture.mp4"

    @property
    def music_file(self) -> Path:
        return self.root / "sound" / "music.wav"

    @property
    def soundtrack_file(self) -> Path:
        return self.root / "sound" / "soundtrack.m4a"

    @property
    def subtitle_files(self) -> tuple[Path, Path]:
        """final.srt and final.vtt, beside final.mp4."""
        return self.final_file.with_suffix(".srt"), self.final_file.with_suffix(".vtt")

    def clip_file(self, scene_id: str) -> Path:
        return self.root / "clips" / f"{scene_id}.mp4"

    def provenance_file(self, artifact: Path) -> Path:
        """Where the record of how `artifact` was made lives (model, prompt, cost, time)."""
        relative = artifact.relative_to(self.root)
        return self.state_dir / "provenance" / relative.with_suffix(relative.suffix + ".json")

    # --- settings --------------------------------------------------------------------------
    @cached_property
    def settings(self) -> ProjectSettings:
        try:
            data = yaml.load(self.settings_file.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
        except FileNotFoundError:
            raise ProjectNotFound(
                f"{self.settings_file}: missing; is {self.root} a project?"
            ) from None
        except yaml.YAMLError as err:
            raise BadInput(f"{self.settings_file}: not valid YAML ({err}); fix the file") from None
        return validate_settings(data, source=str(self.settings_file))

    def created(self) -> float:
        """When the project was created (seconds since the epoch)."""
        try:
            created = float((self.state_dir / "created").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            created = math.nan
        return created if math.isfinite(created) else self.settings_file.stat().st_mtime

    def save_settings(self, settings: ProjectSettings) -> None:
        text = yaml.safe_dump(settings.model_dump(), sort_keys=False, allow_unicode=True)
        fsutil.write_text(self.settings_file, text)
        self.__dict__.pop("settings", None)


def create_project(settings: ProjectSettings, root: Path | None = None) -> Project:
    root = root or projects_root()
    root.mkdir(parents=True, exist_ok=True)
    while True:
        folder = root / new_project_id(settings.prompt)
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
    project = Project(folder)
    try:
        project.state_dir.mkdir()
        fsutil.write_text(project.state_dir / "created", f"{time.time():.3f}")
        project.save_settings(settings)  # last: a folder with project.yaml is a project
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # no half-made project left behind
        raise
    return project


def open_project(project_id: str, root: Path | None = None) -> Project:
    root = root or projects_root()
    if not PROJECT_ID_PATTERN.match(project_id):
        raise ProjectNotFound(
            f"{project_id!r} is not a project id (ids look like 'lighthouse-keeper-3fa9c1')"
        )
    project = Project(root / project_id)
    if not project.settings_file.is_file():
        raise ProjectNotFound(f"no project {project_id!r} in {root}/")
    return project


def all_projects(root: Path | None = None) -> list[Project]:
    root = root or projects_root()
    if not root.is_dir():
        return []
    return [
        Project(folder)
        for folder in root.iterdir()
        if PROJECT_ID_PATTERN.match(folder.name) and (folder / "project.yaml").is_file()
    ]


@contextlib.contextmanager
def project_lock(project: Project) -> Iterator[None]:
    """Hold the project's build lock (released by the kernel if this process dies)."""
    project.state_dir.mkdir(exist_ok=True)
    lock_path = project.state_dir / BUILD_LOCK
    handle = open(lock_path, "a+")  # noqa: SIM115 (held for the whole build)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ProjectBusy(
                f"project {project.id} is being built by {holder}; wait for it to finish "
                "or stop it, then resume"
            ) from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def is_building(project: Project) -> bool:
    """True while some process holds the project's build lock."""
    return fsutil.is_locked(project.state_dir / BUILD_LOCK)

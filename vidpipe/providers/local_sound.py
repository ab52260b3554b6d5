"""The offline sound: a narrator (eSpeak NG, from the espeakng-loader wheel: robotic but
clear, far faster than real time, no network, no system package) and a music bed synthesised
from the storyboard's mood (vidpipe.media.music). The music is the same for the same input;
eSpeak NG's samples differ a little from run to run (its noise sources), its timing by a few
milliseconds at most. A scene's speech is remade only when its text or voice change."""

from __future__ import annotations

import ctypes
import functools
import hashlib
import re
import threading
from typing import Any

from vidpipe.errors import BadInput, StepFailed
from vidpipe.media import music, sound
from vidpipe.project.storyboard import Storyboard
from vidpipe.providers.base import MusicJob, NarrationJob, Provenance, Provider

VOICE_MODEL = "espeak-ng"
DEFAULT_VOICE = "en-us"
WORDS_PER_MINUTE = 160  # a little slower than eSpeak's default 175: easier to follow
NARRATOR_VERSION = 1  # bump when the speech made from the same text changes
MUSIC_MODEL = "vidpipe-chords-1"
MUSIC_VERSION = 1
DARK_WORDS = r"noir|dark|night|horror|storm|grief|sad|lonely|war|rain|cold|fear|mystery|haunt"

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE_PARAMETER = 1
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _ESpeak:
    """libespeak-ng, loaded once per process; one synthesis at a time (its state is global)."""

    def __init__(self) -> None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            *(ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint),
            *(ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p),
        ]
        data = espeakng_loader.get_data_path().encode()
        self.rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if self.rate <= 0:
            raise StepFailed("eSpeak NG could not start; reinstall espeakng-loader")
        self.lib = lib
        self.lock = threading.Lock()
        self.chunks: list[bytes] = []
        self.callback = _CALLBACK(self._collect)  # kept: the library holds on to it
        lib.espeak_SetSynthCallback(self.callback)

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if count > 0:
            self.chunks.append(ctypes.string_at(wav, count * 2))
        return 0  # go on

    def knows(self, voice: str) -> bool:
        with self.lock:
            return self.lib.espeak_SetVoiceByName(voice.encode()) == 0

    def say(self, text: str, voice: str) -> bytes:
        """16-bit mono PCM at `self.rate`."""
        encoded = text.encode("utf-8")
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise BadInput(unknown_voice(voice))
            self.lib.espeak_SetParameter(_RATE_PARAMETER, WORDS_PER_MINUTE, 0)
            self.chunks = []
            status = self.lib.espeak_Synth(
                encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            self.lib.espeak_Synchronize()
            if status != 0:
                raise StepFailed(f"eSpeak NG failed to speak (error {status})")
            return b"".join(self.chunks)


_starting = threading.Lock()


def espeak() -> _ESpeak:
    """The process's one eSpeak NG (scenes are spoken from several threads of a build)."""
    with _starting:
        return _espeak()


@functools.cache
def _espeak() -> _ESpeak:
    return _ESpeak()


def unknown_voice(voice: str) -> str:
    return (
        f"voice={voice} is not a voice of the local narrator; use an eSpeak NG language code "
        f"such as en-us, en, fr, de, es, it, pt, cmn or ar (or leave voice out: {DEFAULT_VOICE})"
    )


class LocalNarrator(Provider):
    name = "local"
    stages = frozenset({"narration"})

    def voice(self) -> str:
        return self.settings.voice or DEFAULT_VOICE

    def fingerprint(self, stage: str) -> dict[str, Any]:
        return {
            "provider": self.name,
            "model": VOICE_MODEL,
            "voice": self.voice(),
            "rate": WORDS_PER_MINUTE,
            "version": NARRATOR_VERSION,
        }

    def check(self, stage: str) -> None:
        if not espeak().knows(self.voice()):
            raise BadInput(unknown_voice(self.voice()))

    def speak(self, job: NarrationJob) -> Provenance:
        import numpy as np

        engine = espeak()
        pcm = engine.say(job.scene.narration, self.voice())
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        sound.write_wav(job.out, samples, engine.rate)
        extra = {"voice": self.voice(), "words_per_minute": WORDS_PER_MINUTE}
        return Provenance(self.name, VOICE_MODEL, prompt=job.scene.narration, extra=extra)


def mood_of(storyboard: Storyboard, style: str) -> music.Bed:
    """The bed's mood and key from the words of the style and the title (vidpipe.inputs'
    music_config: what the bed is made from)."""
    words = f"{style} {storyboard.title}"
    mood = "dark" if re.search(DARK_WORDS, words.lower()) else "bright"
    key = hashlib.sha256(storyboard.title.encode()).digest()[0] % 7 - 3  # -3 .. 3 semitones
    return music.Bed(mood=mood, key=key)


class LocalMusic(Provider):
    name = "local"
    stages = frozenset({"music"})

    def fingerprint(self, stage: str) -> dict[str, Any]:
        return {"provider": self.name, "model": MUSIC_MODEL, "version": MUSIC_VERSION}

    def compose(self, job: MusicJob) -> Provenance:
        bed = mood_of(job.storyboard, job.settings.style)
        sound.write_wav(job.out, music.music_bed(bed, job.seconds, sound.RATE))
        return Provenance(self.name, MUSIC_MODEL, extra={"mood": bed.mood, "key": bed.key})


def local_narration(narration: str, caption: str, seconds: float) -> str:
    """What the offline narrator says over a scene of `seconds`: as many of `narration`'s
    sentences as can be said in the time, else the caption as a sentence, else nothing."""
    budget = max(0.0, seconds - 1.0) * WORDS_PER_MINUTE / 60 * 0.8  # words, with a margin
    said: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", narration.strip()):
        if not sentence or len(" ".join([*said, sentence]).split()) > budget:
            break
        said.append(sentence)
    if said:
        return " ".join(said)
    line = caption.strip().rstrip(".!?")
    if line and len(line.split()) <= budget:
        return f"{line[0].upper()}{line[1:]}."
    return ""

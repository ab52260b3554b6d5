"""The offline storyboard: the prompt's kind, its own phrases, and the beats of that kind.

A kind is a YAML file in `templates/storyboard/` (story, explainer, product, place, mood ...):
the words that mark a prompt of that kind, and its beats, each a set of Jinja2 templates. The
prompt is read into phrases (who, what they do, the task, the product, the place, the theme) by
a few rules of English word order; the beats are filled in with them, never with the whole
prompt pasted into a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pydantic
import yaml

from vidpipe import templates
from vidpipe.errors import BadInput
from vidpipe.project.storyboard import (
    MAX_PLANNED_CHARACTERS,
    Character,
    Scene,
    Storyboard,
    new_character_id,
    within_limits,
)
from vidpipe.providers.local_sound import local_narration

FOLDER = templates.KINDS_FOLDER
DEFAULT_KIND = "story"
DETERMINERS = {
    "a",
    "an",
    "the",
    "my",
    "our",
    "your",
    "his",
    "her",
    "their",
    "its",
    "this",
    "that",
    "one",
    "two",
    "three",
    "some",
    "every",
    "each",
}
PREPOSITIONS = {
    "in",
    "at",
    "on",
    "to",
    "into",
    "through",
    "across",
    "around",
    "over",
    "under",
    "from",
    "with",
    "by",
    "near",
    "along",
    "of",
    "for",
    "about",
    "after",
    "before",
    "during",
}
# common verbs of prompts, in their base form (the -s, -es, -ies forms are derived)
VERBS = {
    "find", "learn", "build", "discover", "meet", "go", "travel", "make", "fall", "search",
    "return", "try", "escape", "lose", "fight", "save", "explore", "wake", "take", "get",
    "become", "run", "walk", "fly", "sail", "climb", "dream", "paint", "write", "sing",
    "dance", "cook", "bake", "brew", "grow", "open", "leave", "chase", "follow", "hide",
    "help", "race", "cross", "face", "win", "steal", "rescue", "visit", "plant", "teach",
    "play", "come", "see", "hear", "look", "wait", "want", "need", "start", "begin",
    "decide", "set", "sets", "carry", "deliver", "repair", "fix", "invent", "protect",
}  # fmt: skip
PLACE_WORDS = {
    "city", "town", "village", "street", "road", "harbour", "harbor", "port", "coast",
    "beach", "island", "sea", "ocean", "lake", "river", "forest", "woods", "jungle", "park",
    "garden", "mountain", "mountains", "valley", "desert", "canyon", "highlands", "alps",
    "market", "kitchen", "cafe", "café", "studio", "office", "station", "square", "countryside",
    "coastline", "bay", "hills", "streets", "rooftops", "world", "kingdom",
}  # fmt: skip
LEAD_INS = re.compile(
    r"^(?:(?:a|an|the|our|my)\s+)?(?:(?:short|quick|little|simple|new|\d+[- ]second|"
    r"cinematic|dreamy|moody|fun|slow|epic)\s+)*(?:music video|video|film|clip|ad|advert|"
    r"advertisement|commercial|trailer|promo|explainer|tutorial|guide|story|tale|piece|"
    r"montage|reel|vlog|travelogue|tour|walkthrough|launch video|product video|"
    r"animation)\s+(?:about|of|for|on|showing|where|in which|that shows)?\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Kind:
    name: str
    path: Path
    spec: dict[str, Any]

    @property
    def cues(self) -> list[str]:
        return [str(cue).lower() for cue in self.spec.get("match", [])]


REQUIRED = ("title", "rank", "description", "image_prompt", "video_prompt", "camera")


def kinds() -> list[Kind]:
    """Every kind in templates/storyboard/, by file name; a broken file is a BadInput."""
    folder = templates.templates_dir() / FOLDER
    found = []
    for name, text in templates.kind_sources().items():
        path = folder / f"{name}.yaml"
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as err:
            problem = str(err).splitlines()[0]
            raise BadInput(f"{path}: not valid YAML ({problem}); fix the file") from None
        problem = _problem(spec)
        if problem:
            raise BadInput(f"{path}: {problem}; fix the file (story.yaml shows every field)")
        found.append(Kind(name, path, spec))
    if not found:
        raise BadInput(f"{folder} holds no kinds of storyboard (*.yaml); restore them")
    return found


def _problem(spec: object) -> str:
    """What is wrong with a kind file's content ("" when nothing)."""
    if not isinstance(spec, dict):
        return "not a mapping with a title, match words and beats"
    if not isinstance(spec.get("title"), str):
        return "no title"
    if not isinstance(spec.get("match", []), list):
        return "match is not a list of words"
    beats = spec.get("beats")
    if not isinstance(beats, list) or not beats:
        return "no beats"
    for number, beat in enumerate(beats, start=1):
        if not isinstance(beat, dict):
            return f"beat {number} is not a mapping"
        missing = [field for field in REQUIRED if field not in beat]
        if missing:
            return f"beat {number} has no {', '.join(missing)}"
        if not isinstance(beat["rank"], int | float) or isinstance(beat["rank"], bool):
            return f"beat {number}: rank is not a number"
    return ""


def detect_kind(prompt: str, available: list[Kind]) -> Kind:
    """The kind whose cue words (whole words or phrases) the prompt names most; a story when
    none does."""
    words = " " + " ".join(re.findall(r"[a-z0-9'-]+", prompt.lower())) + " "
    scores = [(sum(words.count(f" {cue} ") for cue in kind.cues), kind) for kind in available]
    best = max((score for score, _ in scores), default=0)
    if best == 0:
        # a prompt that says what happens is a story; one that only names a thing or a place
        # ("a rainy street in Tokyo at night") is a mood piece
        acts = read_prompt(prompt)["action"] != ""
        wanted = DEFAULT_KIND if acts else "mood"
        return next((kind for kind in available if kind.name == wanted), available[0])
    return next(kind for score, kind in scores if score == best)


# --- the prompt's phrases ---------------------------------------------------------------------


def _is_verb(word: str) -> bool:
    w = word.lower()
    if w in VERBS:
        return True
    for stem in (w[:-1], w[:-2], w[:-3] + "y" if w.endswith("ies") else ""):
        if stem in VERBS and w in (f"{stem}s", f"{stem}es", f"{stem[:-1]}ies"):
            return True
    return False


def _strip_article(phrase: str) -> str:
    words = phrase.split()
    while words and words[0].lower() in DETERMINERS:
        words = words[1:]
    return " ".join(words)


def _the(phrase: str) -> str:
    """`phrase` as a definite noun phrase: "a lighthouse keeper" -> "the lighthouse keeper";
    names and plurals of names stay as they are."""
    bare = _strip_article(phrase)
    if not bare:
        return ""
    if bare[0].isupper() or phrase.split()[0].lower() in {"my", "our", "your", "their"}:
        return phrase if phrase.split()[0].lower() not in {"a", "an"} else bare
    return f"the {bare}"


def _gerund(verb: str) -> str:
    v = verb.lower()
    if v.endswith("ie"):
        return v[:-2] + "ying"
    if v.endswith("e") and not v.endswith(("ee", "ye", "oe")):
        return v[:-1] + "ing"
    if re.fullmatch(r"[^aeiou]*[aeiou][bdgmnprt]", v):
        return v + v[-1] + "ing"
    return v + "ing"


PLACE_PREPOSITIONS = {"in", "at", "to", "through", "across", "around", "along", "of", "on", "into"}
TIME_WORDS = {
    "night",
    "dawn",
    "dusk",
    "sunset",
    "sunrise",
    "noon",
    "midnight",
    "morning",
    "evening",
}
CLAUSE_WORDS = {"and", "with", "while", "as", "who", "that", "which", "where", "when"}


def _place(words: list[str]) -> str:
    """The prompt's place: the last "in/at/to ... <place>" phrase whose noun names a place or is
    a proper name ("in Lisbon", "through the Scottish Highlands"), else the last "the/a ...
    <place word>" ("cross the river" -> "the river")."""
    for i in range(len(words) - 1, -1, -1):
        if words[i].lower() not in PLACE_PREPOSITIONS:
            continue
        phrase = words[i + 1 :]
        cut = next(
            (j for j, w in enumerate(phrase) if w.lower() in CLAUSE_WORDS | PREPOSITIONS),
            len(phrase),
        )
        phrase = phrase[:cut]
        if not phrase or not (phrase[0].lower() in DETERMINERS or phrase[0][0].isupper()):
            continue
        head = phrase[-1]
        if head.lower() in PLACE_WORDS or (head[0].isupper() and i > 0):
            return " ".join(phrase)
    for i in range(len(words) - 1, 0, -1):
        if words[i].lower() in PLACE_WORDS and words[i - 1].lower() in {"the", "a", "an"}:
            return f"{words[i - 1].lower()} {words[i]}"
    return ""


def _names(words: list[str], hero_words: list[str]) -> list[str]:
    """The people the prompt names: capitalised words in the part before the verb ("Mara and
    Theo build ..."), not places after a preposition."""
    found = []
    for i, word in enumerate(hero_words):
        if not word[:1].isupper() or word.lower() in DETERMINERS or not word.isalpha():
            continue
        if i == 0 and not (
            len(hero_words) == 1 or hero_words[1][:1].isupper() or hero_words[1] == "and"
        ):
            continue  # a sentence's first word, not a name
        if i > 0 and hero_words[i - 1].lower() in PREPOSITIONS:
            continue
        found.append(word)
    return found


def _without_place_and_time(phrase: str, place: str) -> str:
    """`phrase` without trailing "in <place>" and "at night"-like phrases."""
    changed = True
    while changed:
        changed = False
        for tail in (
            ([place] if place else []) + [f"the {t}" for t in TIME_WORDS] + list(TIME_WORDS)
        ):
            match = re.search(
                rf"\s+(?:{'|'.join(PLACE_PREPOSITIONS)})\s+{re.escape(tail)}$",
                phrase,
                re.IGNORECASE,
            )
            if match and match.start() > 0:
                phrase, changed = phrase[: match.start()], True
    return phrase


def read_prompt(prompt: str) -> dict[str, str]:
    """The prompt's own phrases, for the templates."""
    text = re.sub(r"\s+", " ", prompt.strip()).rstrip(".!?")
    first = re.split(r"(?<=[.!?;])\s", text)[0].rstrip(".!?;")
    core = LEAD_INS.sub("", first).strip() or first
    words = core.split()
    place = _place(words)
    how_to = re.search(r"\bhow to (.+)$", core, re.IGNORECASE)
    verb_at = next((i for i, w in enumerate(words) if i > 0 and _is_verb(w)), None)
    names: list[str] = []
    obj, title = "", ""
    if how_to:
        task = _without_place_and_time(how_to.group(1), place)
        subject = _strip_article(" ".join(task.split()[1:])) or task
        hero, action = "you", task
    elif verb_at is not None:
        hero = " ".join(words[:verb_at])
        names = _names(words, words[:verb_at])
        action = " ".join(words[verb_at:])
        verb = words[verb_at].lower()
        base = next((b for b in (verb[:-1], verb[:-2]) if b in VERBS), verb)
        if verb.endswith("ies") and f"{verb[:-3]}y" in VERBS:
            base = f"{verb[:-3]}y"
        task = " ".join([base, *words[verb_at + 1 :]])
        subject = _strip_article(hero)
        rest = words[verb_at + 1 :]
        if rest and rest[0] == "to":  # "learns to paint": the doing is the object
            title = _ing_phrase(" ".join(rest[1:]))
            obj = f"the {_gerund(rest[1])}" if len(rest) > 1 else ""
            rest = rest[2:]
        cut = next(
            (
                j
                for j, w in enumerate(rest)
                if j > 0 and w.lower() in {"to", "and", "while", "so", "because"}
            ),
            len(rest),
        )
        obj = _without_place_and_time(" ".join(rest[:cut]), place) or obj
    else:
        hero, action = "", ""
        cut = next(
            (i for i, w in enumerate(words) if i > 0 and w.lower() in CLAUSE_WORDS | PREPOSITIONS),
            len(words),
        )
        subject = _strip_article(" ".join(words[:cut])) or core
        task = f"get to know {_the(subject)}"
    benefit_match = re.search(r"\b(?:that|which|so you can|to help you)\s+(.+)$", core)
    benefit = benefit_match.group(1) if benefit_match else ""
    about = re.search(r"\babout (.+)$", first, re.IGNORECASE)
    theme = _without_place_and_time(about.group(1) if about else core, place)
    if theme.split()[0].lower() in DETERMINERS:
        theme = theme[0].lower() + theme[1:]
    subject = subject.rstrip(",;:")
    the_object = _the(obj) if obj else _the(subject)
    return {
        "prompt": prompt,
        "subject": subject,
        "the_subject": _the(subject),
        "hero": "you" if hero == "you" else _the(hero) if hero else "",
        "action": action,
        "object": obj or subject,
        "the_object": the_object,
        "title_phrase": title or the_object,
        "task": task,
        "task_ing": _ing_phrase(task),
        "place": place,
        "the_place": _the(place) if place else "",
        "benefit": benefit,
        "theme": theme,
        "names": " and ".join(names),
    }


def _ing_phrase(task: str) -> str:
    words = task.split()
    if not words:
        return task
    return " ".join([_gerund(words[0]), *words[1:]])


def _capfirst(text: str) -> str:
    return text[:1].upper() + text[1:]


def characters_of(phrases: dict[str, str]) -> list[str]:
    """The characters the prompt names: its capitalised names, else the one who acts ("the
    lighthouse keeper"), else none."""
    names = [name for name in phrases["names"].split(" and ") if name]
    if names:
        return names
    hero = phrases["hero"]
    return [_capfirst(hero)] if hero and hero not in ("you", "someone") else []


def template_variables(prompt: str, style: str) -> dict[str, Any]:
    phrases: dict[str, Any] = read_prompt(prompt)
    hero = phrases["hero"] or "someone"
    phrases["hero"] = hero
    plural = " and " in hero or hero == "you" or (hero.endswith("s") and not hero.endswith("ss"))
    place = phrases["the_place"]
    phrases.update(
        style=style,
        s="" if plural else "s",
        in_place=f" {'by' if _is_water(place) else 'in'} {place}" if place else "",
        scenery=place or f"the world of {hero}",
        cap=_capfirst,
    )
    return phrases


WATER = {"river", "lake", "sea", "ocean", "bay", "coast", "beach", "shore", "harbour", "harbor"}


def _is_water(place: str) -> bool:
    return bool(place) and place.split()[-1].lower() in WATER


def pick_beats(beats: list[dict[str, Any]], count: int) -> list[tuple[dict[str, Any], int]]:
    """(beat, part) for `count` scenes: the `count` beats of lowest rank in their order, or all
    of them with the development beat repeated (part 2, 3 ...) before the beats after it."""
    if count <= len(beats):
        keep = sorted(beats, key=lambda beat: beat["rank"])[:count]
        return [(beat, 1) for beat in beats if beat in keep]
    turn = next((i for i, beat in enumerate(beats) if beat.get("development")), len(beats) // 2)
    extra = [(beats[turn], part) for part in range(2, count - len(beats) + 2)]
    return [(b, 1) for b in beats[: turn + 1]] + extra + [(b, 1) for b in beats[turn + 1 :]]


def plan_storyboard(prompt: str, style: str, count: int, duration: float) -> Storyboard:
    """The storyboard of `count` scenes for the prompt's kind, numbered s1..sN."""
    kind = detect_kind(prompt, kinds())
    variables = template_variables(prompt, style)

    def fill(text: str, part: int) -> str:
        try:
            rendered = templates.render_string(str(text), **variables, part=part).strip()
        except jinja2.TemplateError as err:
            raise BadInput(f"{kind.path}: {text!r}: {err}; fix the template") from None
        return re.sub(r"\s+", " ", rendered)

    try:
        return _plan(kind, fill, variables, count, duration)
    except pydantic.ValidationError as err:
        problem = err.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise BadInput(
            f"{kind.path}: makes a scene whose {where} is invalid ({problem['msg']}); "
            "fix the template"
        ) from None


def _plan(
    kind: Kind,
    fill: Callable[[str, int], str],
    variables: dict[str, Any],
    count: int,
    duration: float,
) -> Storyboard:
    scenes = []
    seen_captions: set[str] = set()
    for number, (beat, part) in enumerate(pick_beats(kind.spec["beats"], count), start=1):
        title = fill(beat["title"], part) + (f" ({part})" if part > 1 else "")
        caption = fill(beat.get("caption", ""), part)
        if caption and caption in seen_captions:  # every scene's caption its own
            caption = f"{caption} ({number})"
        seen_captions.add(caption)
        fields = {
            "id": f"s{number}",
            "title": title,
            "description": fill(beat["description"], part),
            "image_prompt": fill(beat["image_prompt"], part),
            "video_prompt": fill(beat["video_prompt"], part),
            "camera": fill(beat["camera"], part),
            "caption": caption,
            # what can be said in the scene's time (the narration step refuses more)
            "narration": local_narration(fill(beat.get("narration", ""), part), caption, duration),
            "duration": duration,
        }
        scenes.append(Scene(**within_limits(Scene, fields)))
    names = characters_of(variables) if kind.spec.get("characters") else []
    cast = cast_of(names[:MAX_PLANNED_CHARACTERS])
    scenes = [scene.model_copy(update={"characters": in_scene(cast, scene)}) for scene in scenes]
    title = fill(kind.spec["title"], 1) or "Untitled"
    fitted = within_limits(Storyboard, {"title": title})["title"]
    return Storyboard(title=fitted, characters=cast, scenes=scenes)


CHARACTER_NOTE = "the same figure, colour and shape in every scene"


def cast_of(names: list[str]) -> list[Character]:
    """The storyboard's characters: each name with an id made of it (`the-keeper`)."""
    cast: list[Character] = []
    for name in names:
        found = new_character_id(name, {each.id for each in cast})
        fitted = within_limits(Character, {"name": name, "description": CHARACTER_NOTE})
        cast.append(Character(id=found, **fitted))
    return cast


def in_scene(cast: list[Character], scene: Scene) -> list[str]:
    """The ids of the characters the scene's words name."""
    from vidpipe.providers.local_paint import scene_characters  # Pillow with the painter

    text = f"{scene.title}. {scene.description} {scene.image_prompt}"
    named = set(scene_characters([who.name for who in cast], text))
    return [who.id for who in cast if who.name in named]


def character_names(characters: str) -> list[str]:
    """The names in a storyboard's `characters` text: the part before a colon or a dash of each
    line (or of each sentence, for a description written as prose)."""
    found = []
    for line in re.split(r"[\n;]+", characters):
        head = re.split(r"\s*(?::|—|–| - |,)\s*", line.strip(), maxsplit=1)[0]
        if head and len(head.split()) <= 4:
            found.append(head)
    return found


__all__ = ["Kind", "character_names", "detect_kind", "kinds", "plan_storyboard", "read_prompt"]

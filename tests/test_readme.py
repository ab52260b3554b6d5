"""The README's quickstart works as written (its generate command is run here, unchanged)."""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import REPO, only_project, probe
from test_cli import vidpipe

pytestmark = pytest.mark.slow  # a whole offline generate at the defaults


def quickstart_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quickstart has no sh block"
    return block.group(1).strip().splitlines()


def test_quickstart_generate_makes_the_video_it_promises(projects):
    setup_and_generate, tests = quickstart_commands()
    assert tests == "python -m pytest -q"  # the test command CI runs
    ci = (REPO / ".ci" / "run").read_text()
    assert "python -m pytest -q" in ci
    *setup, generate_line = setup_and_generate.split(" && ")
    for step in setup:  # CI sets up the same way before it runs the tests
        assert step in ci, step
    generate = shlex.split(generate_line)
    assert generate[:2] == ["vidpipe", "generate"]

    result = vidpipe(*generate[1:])
    assert result.returncode == 0, result.stderr
    facts = probe(only_project(projects).final_file)
    assert (facts.width, facts.height, facts.fps) == (1280, 720, 24)
    assert facts.frames == 6 * 8 * 24  # the defaults: six scenes of eight seconds

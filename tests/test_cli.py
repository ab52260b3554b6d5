"""`vidpipe ...` as a user types it: help, typos, the exit codes of the README's table, a closed
pipe, a port in use. The refusals run in process (vidpipe.cli.main.main); a few run the real
command to check what only a process shows (its exit code, stderr, a pipe)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest
from conftest import REPO, doit_env

from vidpipe import errors
from vidpipe.cli.commands import COMMANDS, command_help
from vidpipe.cli.main import guarded, main
from vidpipe.project.folder import create_project, project_lock
from vidpipe.project.settings import ProjectSettings


def vidpipe(*words: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vidpipe", *words],
        cwd=cwd, env=doit_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("argv", [[], ["help"], ["--help"], ["-h"]])
def test_help_lists_every_command(argv, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert re.search(rf"^  {name} ", out, re.M), name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_of_a_command_lists_every_option_with_its_default(name, capsys):
    assert main(["help", name]) == 0
    by_help = capsys.readouterr().out
    assert main([name, "--help"]) == 0
    assert capsys.readouterr().out == by_help
    for option in COMMANDS[name].options:
        line = next(line for line in by_help.splitlines() if line.startswith(f"  {option.name}="))
        if option.default:
            assert f"(default {option.default})" in line
    if name == "generate":  # every setting of project.yaml a user can give
        for field in set(ProjectSettings.model_fields) - {"providers", "provider_options"}:
            assert f"  {field}=" in by_help
        assert "16:9, 9:16, 1:1 (default 16:9)" in by_help


@pytest.mark.parametrize(
    ("argv", "nearest"),
    [
        (["generat", "prompt=a kite"], "did you mean generate?"),
        (["generate", "promt=a kite"], "did you mean prompt?"),
        (["resume", "idd=x"], "did you mean id?"),
        (["stitch", "id=x", "crosfade=1"], "did you mean crossfade?"),
        (["projets"], "did you mean projects?"),
    ],
)
def test_a_typo_is_bad_input_names_the_nearest_word_and_creates_nothing(
    projects, argv, nearest, capsys
):
    assert main(argv) == errors.EXIT_BAD_INPUT
    assert nearest in capsys.readouterr().err
    assert not projects.exists()


def test_list_is_the_projects_command(projects, capsys):
    assert main(["list", "format=json"]) == 0
    assert capsys.readouterr().out.strip() == '{\n  "projects": []\n}'


def test_a_word_without_equals_is_bad_input(projects, capsys):
    assert main(["generate", "a kite"]) == errors.EXIT_BAD_INPUT
    assert "is not a name=value word" in capsys.readouterr().err
    assert not projects.exists()


def test_a_bug_is_its_own_code_with_the_traceback(capsys):
    assert guarded(lambda: 1 // 0) == errors.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err and "a bug in vidpipe" in err


def test_a_busy_project_is_its_own_code(projects, capsys):
    project = create_project(ProjectSettings(prompt="a kite"))
    with project_lock(project):
        assert main(["resume", f"id={project.id}"]) == errors.EXIT_BUSY
    assert "is being built" in capsys.readouterr().err


def test_the_readme_table_of_exit_codes_is_the_code():
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    table = dict(re.findall(r"^\| `(\d+)` \| ([^|]+) \|", section, re.M))
    codes = {value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert {int(code) for code in table} == codes
    assert not {2, 3} & codes  # doit's own codes
    for code in table:
        assert table[code].strip()


def test_python_dash_m_is_the_vidpipe_command_and_typos_exit_4(tmp_path):
    result = vidpipe("generat", "prompt=a kite", cwd=tmp_path)
    assert result.returncode == errors.EXIT_BAD_INPUT
    assert result.stderr.startswith("error: there is no command 'generat'")
    assert "Traceback" not in result.stderr and not (tmp_path / "projects").exists()


def test_a_closed_pipe_is_quiet(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "vidpipe", "help", "generate"],
        cwd=tmp_path, env=doit_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line is written
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0
    assert err == ""


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = vidpipe("serve", f"port={port}", cwd=tmp_path)
    assert result.returncode == errors.EXIT_BAD_INPUT
    assert result.stderr.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_bare_doit_in_the_clone_prints_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "doit"], cwd=REPO, env=doit_env(), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert re.search(rf"^  {name} ", result.stdout, re.M), name


def test_doit_help_of_a_command_lists_its_options_as_vidpipe_help_does():
    result = subprocess.run(
        [sys.executable, "-m", "doit", "help", "generate"], cwd=REPO, env=doit_env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == command_help("generate")
    assert "prompt=" in result.stdout and "crossfade=" in result.stdout

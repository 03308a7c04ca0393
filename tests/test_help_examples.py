"""Every sub-command's help shows each option's default and ends with examples that run as
written: this test runs each one (in a scratch folder holding the corpus, so outputs stay there).

An example line is ``snaporacle ...`` (continued with a trailing backslash); a ``# exits N``
comment after it gives the exit status it ends with, 0 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from snaporacle.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
_EXIT = re.compile(r"#\s*exits (\d+)")


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """Every parser of the command line by its command words, sub-commands included."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(words: str, parser: argparse.ArgumentParser) -> None:
        found[words] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(f"{words} {name}".strip(), child)

    walk("", build_parser())
    return found


PARSERS = _parsers()
COMMANDS = sorted(name for name in PARSERS if name)


def _examples(parser: argparse.ArgumentParser) -> list[tuple[str, int]]:
    """The example command lines of a parser's epilog, with their expected exit status."""
    epilog = parser.epilog or ""
    assert "examples:" in epilog or "example:" in epilog, "the help has no examples"
    lines = epilog.split("example", 1)[1].splitlines()
    out = []
    pending = ""
    for line in lines:
        text = line.strip()
        if pending:
            pending += " " + text
        elif text.startswith("snaporacle ") or (text.startswith("cat ") and "| snaporacle" in text):
            pending = text
        else:
            continue
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        status = _EXIT.search(pending)
        command = pending.split("#", 1)[0].strip()
        out.append((command, int(status.group(1)) if status else 0))
        pending = ""
    return out


#: Every example once, in the order the helps give them (a later one may read an earlier output).
ALL_EXAMPLES = list(dict.fromkeys(ex for name in COMMANDS for ex in _examples(PARSERS[name])))


@pytest.mark.parametrize("words", COMMANDS)
def test_every_option_shows_its_default(words: str) -> None:
    parser = PARSERS[words]
    text = parser.format_help()
    for action in parser._actions:
        if not action.option_strings or action.default is argparse.SUPPRESS:
            continue
        formatted = parser._get_formatter()._expand_help(action)
        assert "default" in formatted or "(required)" in formatted, (words, action.option_strings)
    assert text.rstrip().split("\n\n")[-1]  # help ends with the examples' paragraph


@pytest.mark.parametrize("words", COMMANDS)
def test_every_help_ends_with_examples(words: str) -> None:
    assert _examples(PARSERS[words]), f"snaporacle {words} --help shows no example"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the corpus (read only, by a link) and the inputs docs/ examples read."""
    folder = tmp_path_factory.mktemp("examples")
    (folder / "corpus").symlink_to(ROOT / "corpus")
    (folder / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "explore-fake.json", folder / "docs")
    return folder


@pytest.mark.parametrize(("command", "status"), ALL_EXAMPLES, ids=[c for c, _ in ALL_EXAMPLES])
def test_example_runs_as_written(
    command: str, status: int, scratch: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(scratch)
    if "|" in command:
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == status, done.stderr
        assert done.stdout
        return
    words = shlex.split(command)
    assert words[0] == "snaporacle"
    try:
        got = main(words[1:])
    except SystemExit as exit_:  # argparse refused the example
        pytest.fail(f"argparse refused the example ({exit_.code}): {capsys.readouterr().err}")
    captured = capsys.readouterr()
    assert got == status, captured.err
    assert not captured.err.startswith(f"snaporacle {words[1]}:"), captured.err

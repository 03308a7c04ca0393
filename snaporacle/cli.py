"""The ``snaporacle`` command line: one sub-command per module of :mod:`snaporacle.commands`.

Each command module has ``register(subparsers)``, which adds its parser and sets ``run`` (a
function of the parsed arguments returning the exit status). Errors of snaporacle's own tree end
the command with status 2 (usage) or 1 and one line on stderr; nothing else is printed for them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from .errors import SnaporacleError
from .workdirs import cache_dir

COMMANDS = ("table", "decide", "xml", "explore", "replay", "profile", "report")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks, and ends each option's help with its default unless the
    help already says it (``off`` for a flag, ``none`` when there is none, ``required``)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        if "(default" in text or "default:" in text:
            return text
        if action.required:
            return f"{text} (required)"
        default = action.default
        if default is None or default in ([], ()):
            shown = "none"
        elif default is False and action.nargs == 0:
            shown = "off"
        else:
            shown = str(default).replace("%", "%%")
        return f"{text} (default: {shown})"


class _Parser(argparse.ArgumentParser):
    """An argument parser with :class:`HelpFormatter`, for every command and sub-command."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["formatter_class"] = HelpFormatter
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        """A bad argument: one line on stderr, status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every command module that is installed."""
    parser = _Parser(
        prog="snaporacle",
        description="Simulation and test oracle for libvirt domain snapshots.",
        epilog="example:\n  snaporacle table --profile plan-1.0.1 --format markdown",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"snaporacle.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"snaporacle.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``snaporacle`` console script."""
    # Hypothesis' own files (its constants cache) go to the user's cache, not ./.hypothesis
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache_dir("hypothesis")))
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except SnaporacleError as err:
        print(f"snaporacle {args.command}: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())

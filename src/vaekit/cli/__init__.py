"""Command line: vaekit train | evaluate | sample | reconstruct | traverse | gaps | impute |
compare | figures | report, one module per command; each adds its parser and sets `handler`.
Every command but train and compare takes one run: a run folder (its best checkpoint) or one
of its checkpoint folders (runs.py). Bad input ends with one line on stderr and exit status 2;
an unexpected failure with one line and status 1 (VAEKIT_DEBUG=1 shows its traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import PackageNotFoundError, version

from .. import __version__, devices, distributed, progress
from ..errors import Interrupted, VaekitError
from .train import add_train
from . import compare, evaluate, figures, gaps, impute, pictures, report
from .common import Parser

COMMANDS = (add_train, evaluate.add, pictures.add, gaps.add, impute.add, compare.add,
            figures.add, report.add)


def _version() -> str:
    try:
        return version("vaekit")
    except PackageNotFoundError:
        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="vaekit", description="Variational autoencoders.")
    parser.add_argument("--version", action="version", version=f"vaekit {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    for name, command in sub.choices.items():
        if name != "train":
            command.add_argument("--device", default="auto",
                                 help="auto (default: CUDA, else MPS, else CPU) | cpu | cuda | "
                                      "cuda:N | mps")
            command.add_argument("--no-progress", action="store_true",
                                 help="no progress bars (they are off anyway when stderr is "
                                      "not a terminal)")
    parser.commands = sub.choices
    return parser


def parse(argv: list[str] | None):
    """The parsed arguments; unknown ones are refused by the subcommand they were given to."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.commands[args.command].unrecognized(extra)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    progress.set_enabled(not getattr(args, "no_progress", False))   # each call its own choice
    code = _run(args)
    distributed.shutdown(wait=code == 0)
    return code


def _run(args) -> int:
    """The command's exit status; bad input and failures as one line on stderr."""
    try:
        if getattr(args, "device", None):
            devices.resolve(args.device)        # a device this machine lacks: say so first
        return args.handler(args)
    except VaekitError as e:
        print(f"vaekit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:     # Interrupted: with how to continue
        print(f"vaekit: {e if isinstance(e, Interrupted) else 'interrupted'}", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not bad input: one line unless asked for the traceback
        if os.environ.get("VAEKIT_DEBUG"):
            raise
        print(f"vaekit: internal error: {type(e).__name__}: {e} "
              "(set VAEKIT_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

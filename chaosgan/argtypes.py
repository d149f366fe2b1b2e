"""Strict argument types for the command line: every number finite and in range at parse time.

argparse calls a ``type`` with the raw string; these raise :class:`argparse.ArgumentTypeError`
(shown by :class:`OneLineParser` as ``error: argument --n: ...``, exit status 2) for ``nan``,
``inf``, values out of range, empty paths and empty lists, so no command ever starts on them.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from chaosgan.errors import ChaosganError
from chaosgan.resources import parse_size


class OneLineParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose usage errors are one line, ``error: ...``,
    with exit status 2 (argparse's default prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog.split(' ', 1)[-1]}: {message}", file=sys.stderr)
        sys.exit(2)


def _describe(lo: float | None, hi: float | None, lo_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    return f"<= {hi:g}"


def finite_float(
    lo: float | None = None, hi: float | None = None, lo_open: bool = False
) -> Callable[[str], float]:
    """A type for a finite float in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        below = lo is not None and (value <= lo if lo_open else value < lo)
        if below or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{text} is not {_describe(lo, hi, lo_open)}")
        return value

    parse.__name__ = "number"
    return parse


def int_range(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """A type for an integer in ``[lo, hi]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{text} is not {_describe(lo, hi, False)}")
        return value

    parse.__name__ = "integer"
    return parse


def path_arg(text: str) -> str:
    """A non-empty path."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty")
    return text


def memory_size(text: str) -> int:
    """``--max-memory``: ``512M``, ``4G``, ... in bytes."""
    try:
        return parse_size(text)
    except ChaosganError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def choice_list(choices: Sequence[str], noun: str = "choice") -> Callable[[str], list[str]]:
    """A type for a comma-separated, non-empty list drawn from ``choices`` (no repeats)."""

    def parse(text: str) -> list[str]:
        items = [m.strip() for m in text.split(",") if m.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"{text!r} names nothing (from {', '.join(choices)})")
        unknown = [m for m in items if m not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {noun} {unknown[0]!r} (valid: {', '.join(choices)})"
            )
        return list(dict.fromkeys(items))

    parse.__name__ = "list"
    return parse


SEED = int_range(0, 2**63 - 1)

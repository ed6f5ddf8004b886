"""Command-line argument types shared by the ``simlib`` commands: a clear message, never a
traceback, for a number that is not one or is out of range."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(minimum: int, problem: str | None = None) -> Callable[[str], int]:
    """A parser of whole numbers at least ``minimum``."""
    problem = problem or f"must be at least {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{problem}, got {value}")
        return value

    return parse


# The smallest share of the city simulated: at 0.001 (about 1,200 persons) every area ×
# stratum cell still holds persons of every age group the rules read (elders for the
# dependency tables); at 1e-5 (12 persons) there are none aged 60+ and the run cannot start.
MIN_SCALE = 0.001


def scale(text: str) -> float:
    """The share of the city simulated, in [MIN_SCALE, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not MIN_SCALE <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between {MIN_SCALE} and 1, got {text}")
    return value


positive_int = whole_number(1)
seed = whole_number(0, "must not be negative")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that runs scenarios takes (``run``, ``batch``)."""
    parser.add_argument("--replicates", type=positive_int, default=5, help="replicates (default 5)")
    parser.add_argument("--seed", type=seed, default=None, help="root seed (default 20160101)")
    parser.add_argument(
        "--scale",
        type=scale,
        default=0.2,
        help="share of the city simulated, 0-1 (default 0.2); results are city totals",
    )
    parser.add_argument("--out", default="outputs", help="folder for run folders (default outputs)")
    parser.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="language of budget.xlsx, the budget figures and the targets table (default zh)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")

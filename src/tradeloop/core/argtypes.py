"""Number types for command-line options: a value that cannot be right is refused by the
parser in one line, before anything runs (a negative cash or a 200 % fee used to run)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _bounded(test: Callable[[float], bool], says: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text} {says}")
        return value

    parse.__name__ = "number"
    return parse


#: > 0 (cash, sizes, limits, durations)
positive = _bounded(lambda v: v > 0, "must be above 0")
#: >= 0 (slippage)
non_negative = _bounded(lambda v: v >= 0, "must not be negative")
#: in (0, 1] (a share)
share = _bounded(lambda v: 0 < v <= 1, "must be above 0 and at most 1")
#: a fee rate: a rebate down to -1 %, a fee up to 10 % (0.001 = 0.1 %); beyond that a typo
fee_rate = _bounded(lambda v: -0.01 <= v <= 0.1, "is not a fee rate between -0.01 and 0.1")


def _whole(low: int, high: int, says: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} {says}")
        return value

    parse.__name__ = "whole number"
    return parse


#: a whole number >= 0 (a row limit, 0 meaning all)
count = _whole(0, 2**63, "must not be negative")
#: a whole number >= 1 (book levels)
positive_int = _whole(1, 2**63, "must be at least 1")
#: a TCP port (0: any free one)
port = _whole(0, 65535, "is not a port (0-65535)")

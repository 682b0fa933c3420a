"""Number types for command-line options: a value that cannot be right is refused by the
parser in one line, before anything runs (a negative cash or a 200 % fee used to run)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

N = TypeVar("N", int, float)


def _checked(convert: Callable[[str], N], kind: str, test: Callable[[N], bool], says: str
             ) -> Callable[[str], N]:  # fmt: skip
    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text} {says}")
        return value

    parse.__name__ = kind  # argparse names the type in its own messages
    return parse


#: > 0 (cash, sizes, limits, durations)
positive = _checked(float, "number", lambda v: v > 0, "must be above 0")
#: >= 0 (slippage)
non_negative = _checked(float, "number", lambda v: v >= 0, "must not be negative")
#: in (0, 1] (a share)
share = _checked(float, "number", lambda v: 0 < v <= 1, "must be above 0 and at most 1")
#: a fee rate: a rebate down to -1 %, a fee up to 10 % (0.001 = 0.1 %); beyond that a typo
fee_rate = _checked(float, "number", lambda v: -0.01 <= v <= 0.1,
                    "is not a fee rate between -0.01 and 0.1")  # fmt: skip
#: a whole number >= 0 (a row limit, 0 meaning all)
count = _checked(int, "whole number", lambda v: v >= 0, "must not be negative")
#: a whole number >= 1 (book levels)
positive_int = _checked(int, "whole number", lambda v: v >= 1, "must be at least 1")
#: a TCP port (0: any free one)
port = _checked(int, "whole number", lambda v: 0 <= v <= 65535, "is not a port (0-65535)")

"""FMZ symbols (``BASE_QUOTE``, ``BASE_QUOTE.swap``) and the strategy-facing symbol text.

The docker names pairs FMZ's way, in any case; contract codes follow a dot (spec B.3). Venue
adapters turn a parsed :class:`FmzSymbol` into their own instrument id, so this module knows
nothing about any exchange.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tradeloop.fmz.protocol import FmzError

_ASSET_RE = re.compile(r"^[A-Z0-9]{1,20}$")
_CONTRACT_RE = re.compile(r"^[A-Z0-9_]{1,24}$")


@dataclass(frozen=True, slots=True)
class FmzSymbol:
    """A parsed symbol: upper-case assets; ``contract`` is ``""`` for spot, else lower-case code
    (``swap``, ``quarter``, a venue expiry like ``250328`` ...)."""

    base: str
    quote: str
    contract: str = ""

    @property
    def is_spot(self) -> bool:
        return not self.contract

    @property
    def is_swap(self) -> bool:
        return self.contract == "swap"

    def __str__(self) -> str:
        pair = f"{self.base}_{self.quote}"
        return f"{pair}.{self.contract}" if self.contract else pair


def parse_symbol(text: str) -> FmzSymbol:
    """``"btc_usdt"`` -> BTC/USDT spot, ``"BTC_USDT.swap"`` -> perpetual swap.

    An incomplete symbol such as ``"USDT"`` is an error (the guide requires one), and so is
    anything that is not two asset codes: better to refuse than to trade the wrong instrument.
    """
    raw = text.strip()
    if not raw:
        raise FmzError("missing symbol: expected BASE_QUOTE, e.g. BTC_USDT or BTC_USDT.swap")
    pair, dot, contract = raw.partition(".")
    parts = pair.upper().split("_")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise FmzError(
            f"incomplete or invalid symbol {raw[:40]!r}: expected BASE_QUOTE, e.g. BTC_USDT"
        )
    base, quote = parts
    if not _ASSET_RE.match(base) or not _ASSET_RE.match(quote):
        raise FmzError(f"invalid symbol {raw[:40]!r}: assets must be letters/digits")
    code = contract.strip().lower()
    if dot and not _CONTRACT_RE.match(code.upper()):
        raise FmzError(f"invalid contract code in symbol {raw[:40]!r}")
    return FmzSymbol(base, quote, code)

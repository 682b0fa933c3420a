"""What an instrument is, from its name: base, quote, kind, linear or inverse.

A backtest must never guess silently (``BTC-USDT-SWAP`` once ran as spot and refused every
short). The rules, applied to the venue's native symbol (separators ``-``, ``_``, ``/``):

* ``BASE-QUOTE`` is spot;
* ``BASE-QUOTE-SWAP`` / ``BASE-QUOTE-PERP`` is a perpetual, ``BASE-QUOTE-YYMMDD`` a future;
  both are inverse (margined in the base) when the quote is ``USD``, as on OKX, else linear;
* ``BASE-PERP`` is a linear perpetual quoted in USD (FTX);
* ``BASE_QUOTE_SETTLE`` (freqtrade's ``XRP/USDT:USDT`` file names) is a perpetual, linear when
  it settles in the quote and inverse when it settles in the base.

Anything else (``XBTUSD``) needs ``base``/``quote``/``kind`` spelled out. The run prints what
it inferred for every instrument before it starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tradeloop.core.errors import ConfigError
from tradeloop.model.enums import InstrumentKind

#: currencies a file name may end its pair with (the quote side)
QUOTES = frozenset(
    {"USDT", "USDC", "USD", "BUSD", "TUSD", "DAI", "FDUSD", "BTC", "ETH", "BNB", "EUR", "GBP",
     "JPY", "TRY", "BRL", "AUD", "KRW", "XBT"}
)  # fmt: skip
_CODE = re.compile(r"[A-Z0-9]{1,12}")
_EXPIRY = re.compile(r"\d{6}")


@dataclass(frozen=True, slots=True)
class Kind:
    base: str
    quote: str
    kind: InstrumentKind
    inverse: bool

    def describe(self) -> str:
        if self.kind is InstrumentKind.SPOT:
            return "spot"
        what = "perpetual" if self.kind is InstrumentKind.SWAP else "future"
        return f"{'inverse' if self.inverse else 'linear'} {what}"


def infer_kind(native: str) -> Kind | None:
    """The instrument a native symbol names, or None when the name does not say."""
    parts = [p for p in re.split(r"[-_/:]", native.upper()) if p]
    if not all(_CODE.fullmatch(p) for p in parts):
        return None
    if len(parts) == 2:
        base, tail = parts
        if tail == "PERP":
            return Kind(base, "USD", InstrumentKind.SWAP, False)
        if tail in QUOTES or base in QUOTES:
            return Kind(base, tail, InstrumentKind.SPOT, False)
        return None
    if len(parts) == 3:
        base, quote, tail = parts
        if quote not in QUOTES:
            return None
        if tail in ("SWAP", "PERP"):
            return Kind(base, quote, InstrumentKind.SWAP, quote == "USD")
        if _EXPIRY.fullmatch(tail):
            return Kind(base, quote, InstrumentKind.FUTURE, quote == "USD")
        if tail == quote:
            return Kind(base, quote, InstrumentKind.SWAP, False)
        if tail == base:
            return Kind(base, quote, InstrumentKind.SWAP, True)
    return None


def resolve_kind(
    native: str,
    kind: str | None = None,
    base: str | None = None,
    quote: str | None = None,
    inverse: bool | None = None,
) -> Kind:
    """``infer_kind`` overridden by whatever the user spelled out; ConfigError when the name
    says nothing and the user did not either."""
    guess = infer_kind(native)
    if guess is None and (base is None or quote is None):
        raise ConfigError(
            f"instrument {native!r}: cannot tell base and quote from the name; give base "
            "and quote (and kind) explicitly, or name it BASE-QUOTE[-SWAP|-YYMMDD]"
        )
    k = InstrumentKind(kind) if kind else (guess.kind if guess else InstrumentKind.SPOT)
    b = (base or (guess.base if guess else "")).upper()
    q = (quote or (guess.quote if guess else "")).upper()
    if inverse is not None:
        inv = inverse
    elif guess is not None and guess.kind is k:
        inv = guess.inverse
    else:
        inv = k is not InstrumentKind.SPOT and q == "USD"
    if inv and k is InstrumentKind.SPOT:
        raise ConfigError(f"instrument {native!r}: a spot instrument cannot be inverse")
    return Kind(b, q, k, inv)


def pair_from_filename(stem_symbol: str) -> str | None:
    """``XRP_ETH`` (from ``XRP_ETH-1m.feather``) -> ``XRP-ETH`` when the name is a pair."""
    k = infer_kind(stem_symbol)
    if k is None:
        return None
    if k.kind is InstrumentKind.SPOT:
        return f"{k.base}-{k.quote}"
    if k.kind is InstrumentKind.SWAP:
        return f"{k.base}-{k.quote}-SWAP"
    return None

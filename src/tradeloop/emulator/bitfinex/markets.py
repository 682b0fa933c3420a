"""Bitfinex symbols, instruments and the positional arrays Bitfinex v2 speaks.

Names are Bitfinex's: ``tBTCUSD`` (spot, the ``exchange`` wallet) and ``tBTCF0:USTF0`` (a
perpetual margined in ``USTF0``, the derivatives wallet). Numbers go on the wire as JSON
numbers whose *text* the emulator chooses: plain decimals from the market's exact strings
(``Instrument.format_*``: no exponent, no trailing zeros). That is what a client reads back and
checksums, so the book checksum the emulator sends is the one any client computes from the
text it received (ccxt's ``number_to_string`` writes the same plain form). Real Bitfinex is
JavaScript and would write ``1e-8``; sizes here never get that small, and where they could the
plain form is at least one every client agrees on.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec

from tradeloop.emulator.market import Candle, PublicTrade, SymbolMarket
from tradeloop.model.enums import InstrumentKind
from tradeloop.model.instrument import Instrument, plain_decimal

DEFAULT_SYMBOLS = ("tBTCUSD", "tETHUSD", "tBTCF0:USTF0")
#: pair -> tick size (Bitfinex prices have 5 significant digits; ticks chosen to match)
TICKS: dict[str, float] = {"BTC": 1.0, "ETH": 0.1, "SOL": 0.01, "XRP": 0.00001, "LTC": 0.01}
LOT = 0.00000001  # Bitfinex amounts have 8 decimals
MIN_SIZE: dict[str, float] = {"BTC": 0.00006, "ETH": 0.001}
MAKER_FEE, TAKER_FEE = 0.001, 0.002  # Bitfinex's base tier (0.1% / 0.2%)
DERIV_FEES = (0.0002, 0.00065)
_LEG = re.compile(r"[A-Z0-9]{2,12}")
Raw = msgspec.Raw


def split(symbol: str) -> tuple[str, str]:
    """``tBTCUSD`` -> (BTC, USD); ``tTESTBTC:TESTUSD`` -> (TESTBTC, TESTUSD)."""
    if not symbol.startswith("t"):
        raise ValueError(f"{symbol!r} is not a Bitfinex trading pair (tBTCUSD, tBTCF0:USTF0)")
    pair = symbol[1:]
    base, sep, quote = pair.partition(":")
    if not sep:
        base, quote = pair[:3], pair[3:]
    if not (_LEG.fullmatch(base) and _LEG.fullmatch(quote)):
        raise ValueError(f"{symbol!r} is not a Bitfinex trading pair (tBTCUSD, tBTCF0:USTF0)")
    return base, quote


def is_perp(symbol: str) -> bool:
    base, quote = split(symbol)
    return base.endswith("F0") and quote.endswith("F0")


def instrument(symbol: str) -> Instrument:
    """The :class:`Instrument` for a Bitfinex pair; ValueError if it is not one."""
    symbol = symbol.strip()
    base, quote = split(symbol)
    perp = is_perp(symbol)
    coin = base.removesuffix("F0") if perp else base
    maker, taker = DERIV_FEES if perp else (MAKER_FEE, TAKER_FEE)
    return Instrument(
        symbol=symbol,
        base=coin,
        quote=quote,
        tick_size=TICKS.get(coin, 0.01),
        lot_size=LOT,
        min_size=MIN_SIZE.get(coin, 0.001),
        maker_fee=maker,
        taker_fee=taker,
        kind=InstrumentKind.SWAP if perp else InstrumentKind.SPOT,
        settle=quote,
        venue="BITFINEX",
    )


def pair(symbol: str) -> str:
    """The ``pair`` field of a ``subscribed`` ack: ``tBTCUSD`` -> ``BTCUSD``."""
    return symbol[1:]


def num(text: str) -> Raw:
    """A JSON number with exactly this (plain decimal) text."""
    return Raw(text.encode())


def fnum(x: float, places: int = 8) -> Raw:
    """A computed float as a plain decimal JSON number (rounded to ``places``)."""
    return num(plain_decimal(Decimal(repr(round(x, places)))) if x == x else "0")


def neg(text: str) -> str:
    return text[1:] if text.startswith("-") else ("-" + text if text != "0" else text)


def level_count(ticks: int) -> int:
    """A stable, plausible order count for a synthetic level."""
    return 1 + ticks % 3


def ticker(m: SymbolMarket, now_ms: int) -> list[Any]:
    """``[BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME,
    HIGH, LOW]``"""
    bb, ba = m.best_bid(), m.best_ask()
    o24, high, low, vol, _ = m.stats_24h(now_ms)
    last = float(m.last_trade.price)
    change = last - o24 if o24 else 0.0
    rel = change / o24 if o24 else 0.0
    fp = m.instrument.format_price
    return [num(m.px(bb)), num(m.bids[bb]), num(m.px(ba)), num(m.asks[ba]),
            num(fp(change) if change >= 0 else "-" + fp(-change)), fnum(rel, 4),
            num(m.last_trade.price), fnum(vol), num(fp(high or last)),
            num(fp(low or last))]  # fmt: skip


def trade(t: PublicTrade) -> list[Any]:
    """``[ID, MTS, AMOUNT, PRICE]``; the amount is signed by the taker's side."""
    amount = t.size if t.side == "buy" else neg(t.size)
    return [int(t.trade_id), t.ts, num(amount), num(t.price)]


def candle(m: SymbolMarket, c: Candle) -> list[Any]:
    """``[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]`` -- Bitfinex's order: open, *close*, high, low."""
    fp = m.instrument.format_price
    return [c.start, num(fp(c.open)), num(fp(c.close)), num(fp(c.high)), num(fp(c.low)),
            fnum(c.vol)]  # fmt: skip


# -- books ----------------------------------------------------------------------------------
#: one published level: price (or R0 order id) text -> (count, signed amount text, price text)
View = dict[str, tuple[int, str, str]]
PRECISIONS = ("P0", "P1", "P2", "P3", "P4", "R0")
LENGTHS = {"P": (1, 25, 100, 250), "R": (1, 25, 100, 250)}


def _group(m: SymbolMarket, ticks: int, drop: int, is_bid: bool) -> str:
    """The price of the P``drop`` bucket holding ``ticks``: 5 - drop significant digits
    (bids round down, asks up, so buckets never cross)."""
    d = Decimal(m.px(ticks))
    exp = d.adjusted() - (4 - drop)
    q = Decimal(1).scaleb(exp)
    bucket = (d / q).to_integral_value(rounding="ROUND_FLOOR" if is_bid else "ROUND_CEILING")
    return plain_decimal(bucket * q)


def side_view(
    m: SymbolMarket, is_bid: bool, prec: str, depth: int, raw_base: int
) -> list[tuple[str, int, str, str]]:
    """The best ``depth`` levels of one side as ``(key, count, amount, price)`` best first:
    ``key`` is the price (P*) or the synthetic order id (R0); ``amount`` is signed."""
    levels = m.sorted_bids() if is_bid else m.sorted_asks()
    out: list[tuple[str, int, str, str]] = []
    if prec == "R0":
        for ticks, size in levels[:depth]:
            amt = size if is_bid else neg(size)
            out.append((str(raw_base + ticks), 1, amt, m.px(ticks)))
        return out
    drop = int(prec[1])
    if drop == 0:
        for ticks, size in levels[:depth]:
            px = m.px(ticks)
            out.append((px, level_count(ticks), size if is_bid else neg(size), px))
        return out
    sums: dict[str, tuple[int, Decimal]] = {}
    for ticks, size in levels:
        key = _group(m, ticks, drop, is_bid)
        if key not in sums and len(sums) >= depth:
            break
        c, a = sums.get(key, (0, Decimal(0)))
        sums[key] = (c + level_count(ticks), a + Decimal(size))
    for key, (c, a) in sums.items():
        amt = plain_decimal(a)
        out.append((key, c, amt if is_bid else neg(amt), key))
    return out


def book_rows(
    m: SymbolMarket, prec: str, depth: int, raw_base: int
) -> tuple[list[list[Any]], View, View]:
    """Snapshot rows (bids then asks) and both views for a subscription or ``GET /book``."""
    rows: list[list[Any]] = []
    views: list[View] = []
    for is_bid in (True, False):
        view: View = {}
        for key, count, amt, px in side_view(m, is_bid, prec, depth, raw_base):
            view[key] = (count, amt, px)
            rows.append([int(key), num(px), num(amt)] if prec == "R0" else
                        [num(key), count, num(amt)])  # fmt: skip
        views.append(view)
    return rows, views[0], views[1]


def checksum_text(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> str:
    """``bid1:amt:ask1:-amt:bid2:...`` over the top 25 of each side (a shorter side skipped)."""
    parts: list[str] = []
    for i in range(min(25, max(len(bids), len(asks)))):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    return ":".join(parts)

"""Booking a venue's funding payment live: on the holdings at settlement, not at booking.

A payment is settled at ``FundingPaid.ts`` (the venue's time) on the position held then, but
most venues only tell its amount a little later (a REST read after a push, an hourly poll),
and strategies whose bars close on the funding boundary trade exactly then. Booking on the
position held when the payment *arrives* would drop a payment the strategies held until the
boundary and then closed, or split it over the wrong strategies. :class:`HoldingsTape` keeps
the last fills of each derivative (who took how much, when), so the holdings at settlement are
today's minus what traded after it.

What is booked is only the engine's share (:func:`book_funding`): a payment on an instrument
the engine does not trade or in another currency is not the strategies', and when the venue
says the size of the position it paid on, contracts beyond the engine's are someone else's.
"""

from __future__ import annotations

import math
from collections import deque

from tradeloop.core.log import get_logger
from tradeloop.engine.portfolio import Portfolio
from tradeloop.model import FundingPaid

log = get_logger("tradeloop.engine.oms")

#: fills remembered per instrument (the reach back from a late payment, in fills)
TAPE_FILLS = 512

#: (ts, the account's signed change, ((strategy id, signed change), ...))
_Entry = tuple[int, float, tuple[tuple[str, float], ...]]


class HoldingsTape:
    """The recent fills of each derivative, to undo those after a time."""

    def __init__(self, depth: int = TAPE_FILLS) -> None:
        self.depth = depth
        self._fills: dict[str, deque[_Entry]] = {}

    def record(self, symbol: str, ts: int, signed: float,
               allocation: list[tuple[str, float, float]]) -> None:  # fmt: skip
        tape = self._fills.get(symbol)
        if tape is None:
            tape = self._fills[symbol] = deque(maxlen=self.depth)
        tape.append((ts, signed, tuple((sid, q) for sid, q, _fee in allocation)))

    def since(self, symbol: str, ts: int) -> tuple[float, dict[str, float]]:
        """What the fills the venue executed after ``ts`` added to ``symbol``: (in all, to
        each strategy)."""
        total, books = 0.0, dict[str, float]()
        for when, signed, allocation in self._fills.get(symbol, ()):
            if when <= ts:  # every entry: fills listed after the fact carry the venue's
                continue  # time, so the tape is not in time order
            total += signed
            for sid, q in allocation:
                books[sid] = books.get(sid, 0.0) + q
        return total, books

    def holdings_at(
        self, portfolio: Portfolio, symbol: str, ts: int
    ) -> tuple[float, dict[str, float]]:
        """(the account's position, each strategy's) in ``symbol`` as they were at ``ts``."""
        later, later_books = self.since(symbol, ts)
        books = {sid: (p.qty if (p := b.positions.get(symbol)) is not None else 0.0)
                 - later_books.get(sid, 0.0) for sid, b in portfolio.books.items()}  # fmt: skip
        return portfolio.positions[symbol].qty - later, books


def engine_share(held: float, payment: FundingPaid) -> float:
    """The part of ``payment`` that is on ``held`` contracts (the engine's, when it settled).

    With the account's ``outside`` contracts known, the position was the engine's plus those,
    both signed, and each side's part is what its own contracts paid: a long engine on an
    account net short by outside contracts pays while the account as a whole receives (a
    part beyond the whole, or of the other sign). That is used unless the venue says a
    position size it contradicts. Else, where the venue says the size, the engine's part of
    it (capped at the whole: venues disagree on how they sign it); neither known: all of it
    (the engine holds the account)."""
    net = held + payment.outside
    if (
        payment.outside
        and net
        and (not payment.position or math.isclose(abs(net), abs(payment.position), rel_tol=1e-6))
    ):
        return held / net
    if payment.position:
        return min(abs(held) / abs(payment.position), 1.0)
    return 1.0


def book_funding(portfolio: Portfolio, tape: HoldingsTape, payment: FundingPaid) -> float:
    """Book the engine's share of ``payment`` (see the module docstring); returns it (0.0:
    nothing was the strategies')."""
    inst = portfolio.instruments.get(payment.symbol)
    if inst is None or (payment.ccy and payment.ccy != inst.settle):
        log.warning("funding %s on %s (%g %s) is not this engine's: not booked",
                    payment.payment_id, payment.symbol, payment.amount, payment.ccy)  # fmt: skip
        return 0.0
    held, books = tape.holdings_at(portfolio, payment.symbol, payment.ts)
    share = engine_share(held, payment)
    if abs(share) > 1.0:
        log.info("funding %s on %s: the strategies' %g contracts against the account's net "
                 "%g: they are charged their own contracts' part", payment.payment_id,
                 payment.symbol, held, held + payment.outside)  # fmt: skip
    amount = payment.amount * share
    if not amount or not held:
        log.warning("funding %s on %s: %g %s, none of it on the strategies' position when it "
                    "was settled", payment.payment_id, payment.symbol, payment.amount,
                    payment.ccy)  # fmt: skip
        return 0.0
    portfolio.apply_funding(payment.symbol, amount, books)
    log.info("funding %s on %s: paid %.8g %s (rate %g)", payment.payment_id, payment.symbol,
             amount, inst.settle, payment.rate)  # fmt: skip
    return amount

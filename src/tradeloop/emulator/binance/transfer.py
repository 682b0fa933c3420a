"""Universal transfer between the spot and USD-M wallets (``POST /sapi/v1/asset/transfer``,
``type`` ``MAIN_UMFUTURE`` or ``UMFUTURE_MAIN``): the way a client moves funds without the
admin API, and the way it sees both wallets announce it -- spot's ``balanceUpdate`` and
``outboundAccountPosition`` (:meth:`.trading.BinanceTrading.move_funds`), the futures
listenKey's ``ACCOUNT_UPDATE`` with the new wallet balance (reason ``DEPOSIT`` into futures,
``WITHDRAW`` out of it: Binance's reason words; not checked against a live transfer).
Answers ``{"tranId": n}``; a transfer larger than the source's free balance is refused and
moves nothing.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.binance.errors import BinanceError, mandatory
from tradeloop.emulator.feed import now_ms

if TYPE_CHECKING:
    from tradeloop.emulator.binance.server import BinanceEmulator

PATH = "/sapi/v1/asset/transfer"
#: Binance's per-UID weight for the transfer
WEIGHT = 900
#: ``You have insufficient balance.`` (the wallet endpoints' code)
INSUFFICIENT = -5002
_ids = itertools.count(100_000_001)


def transfer(emu: BinanceEmulator, p: dict[str, str]) -> dict[str, Any]:
    kind, asset, raw = p.get("type", ""), p.get("asset", ""), p.get("amount", "")
    for name, value in (("type", kind), ("asset", asset), ("amount", raw)):
        if not value:
            raise mandatory(name)
    side = emu.futures
    if kind not in ("MAIN_UMFUTURE", "UMFUTURE_MAIN") or side is None:
        raise BinanceError(-1100, "Illegal characters found in parameter 'type'.")
    try:
        amount = float(raw)
    except ValueError:
        raise BinanceError(-1100, "Illegal characters found in parameter 'amount'.") from None
    if not amount > 0:
        raise BinanceError(-1100, "Illegal characters found in parameter 'amount'.")
    to_futures = kind == "MAIN_UMFUTURE"
    fut = side.trading.account.sim.account
    if not to_futures and amount > fut.free(asset) + 1e-12:
        raise BinanceError(INSUFFICIENT, "You have insufficient balance.")
    try:
        emu.trading.move_funds(asset, -amount if to_futures else amount)
    except ValueError:
        raise BinanceError(INSUFFICIENT, "You have insufficient balance.") from None
    fut.credit(asset, amount if to_futures else -amount)
    t = now_ms()
    total = fut.total(asset)
    wb = f"{total:.8f}"
    side.hub.push_user({"e": "ACCOUNT_UPDATE", "T": t, "E": t, "a": {
        "m": "DEPOSIT" if to_futures else "WITHDRAW",
        "B": [{"a": asset, "wb": wb, "cw": wb, "bc": f"{amount if to_futures else -amount:.8f}"}],
        "P": []}})  # fmt: skip
    return {"tranId": next(_ids)}

"""USD-M funding as Binance settles and shows it: the futures wallet's ``FUNDING_FEE`` income.

At each funding time every open position pays (or receives) ``position value at the mark x
rate``; longs pay a positive rate. Binance keeps each payment as a row of the income history
(``GET /fapi/v1/income``: ``symbol, incomeType, income, asset, info, time, tranId, tradeId``;
``income`` > 0 is money received, an 8-decimal string; ``tranId`` a number unique per income
type, large enough in production to pass 2**53) and pushes an ``ACCOUNT_UPDATE`` with reason
``m = "FUNDING_FEE"``: for a crossed position only the balance ``B`` of the asset paid (its
``bc`` the payment, funding being neither PnL nor commission) and no position ``P``; for an
isolated one that position too. The push names no payment: a client that wants the id reads
the income history. The wallet moves by exactly the row's rounded ``income``, so the sum of
the rows is the money funding moved.

Why a module: the futures side had the rows, the settlement and the history query mixed into
its routes; this is the one place that knows the income record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeloop.emulator.binance import futures_markets as fm
from tradeloop.emulator.binance import rest
from tradeloop.emulator.binance.futures_trading import num
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.funding_clock import settle_rounded

if TYPE_CHECKING:
    from tradeloop.emulator.binance.futures import FuturesSide

#: the first ``tranId`` (Binance's income ids are 19-digit numbers: past a double's 2**53, so a
#: client that reads them as floats loses the id)
TRAN_ID_BASE = 1_580_000_000_000_000_000
#: the income history answers this far back when neither ``startTime`` nor ``endTime`` is sent
DEFAULT_WINDOW_MS = 7 * 24 * 3600 * 1000
#: decimals of a USDT wallet amount
DP = 8


class FundingLedger:
    """The futures wallet's funding income rows (module docstring)."""

    def __init__(self, side: FuturesSide) -> None:
        self.side = side
        #: every payment, oldest first, as ``/fapi/v1/income`` shows it
        self.rows: list[dict[str, Any]] = []

    def settle(self, at_ms: int, rate: float) -> list[dict[str, Any]]:
        """Pay funding on every open position at ``at_ms``; the new income rows."""
        side = self.side
        trading = side.trading
        out = []
        for sym, m in side.driver.markets.items():
            if trading.position_qty(sym) == 0:
                continue
            # the wallet moves by the row's rounded amount, not the float behind it
            paid = settle_rounded(trading.account, sym, side.settle, rate,
                                  float(fm.mark_price(m)), DP)  # fmt: skip
            if paid == 0:
                continue  # nothing moved
            row = {"symbol": sym, "incomeType": "FUNDING_FEE", "income": num(-paid, DP),
                   "asset": side.settle, "info": "FUNDING_FEE", "time": at_ms,
                   "tranId": TRAN_ID_BASE + len(self.rows) + 1, "tradeId": ""}  # fmt: skip
            self.rows.append(row)
            out.append(row)
            side.hub.push_user(self.account_update(sym, row))
        return out

    def account_update(self, sym: str, row: dict[str, Any]) -> dict[str, Any]:
        """The ``ACCOUNT_UPDATE`` Binance pushes for one payment (module docstring)."""
        trading = self.side.trading
        total, _, _ = trading.wallet()
        positions = []
        p = trading.position_row(sym)
        if p["marginType"] == "isolated":
            positions.append({"s": sym, "pa": p["positionAmt"], "ep": p["entryPrice"],
                              "bep": p["breakEvenPrice"], "cr": "0",
                              "up": p["unRealizedProfit"], "mt": "isolated",
                              "iw": p["isolatedWallet"], "ps": "BOTH"})  # fmt: skip
        balance = {"a": row["asset"], "wb": num(total, DP), "cw": num(total, DP),
                   "bc": row["income"]}  # fmt: skip
        return {"e": "ACCOUNT_UPDATE", "T": row["time"], "E": now_ms(),
                "a": {"m": "FUNDING_FEE", "B": [balance], "P": positions}}  # fmt: skip

    def income(self, p: rest.Params, symbol: str) -> list[dict[str, Any]]:
        """``GET /fapi/v1/income``: oldest first from ``startTime``; without ``startTime``
        and ``endTime`` the last 7 days; ``limit`` rows (default 100, at most 1000) of page
        ``page``. Only funding is kept here, so another ``incomeType`` finds nothing."""
        want = p.get("incomeType", "")
        has_window = bool(p.get("startTime") or p.get("endTime"))
        start = rest.int_param(p, "startTime", 0, 0, 2**62)
        end = rest.int_param(p, "endTime", 2**62, 0, 2**62)
        if not has_window:
            start = now_ms() - DEFAULT_WINDOW_MS
        limit = rest.int_param(p, "limit", 100, 1, 1000)
        page = rest.int_param(p, "page", 1, 1, 2**31)
        rows = [
            r
            for r in self.rows
            if (not symbol or r["symbol"] == symbol)
            and (not want or r["incomeType"] == want)
            and start <= r["time"] <= end
        ]
        return rows[(page - 1) * limit : page * limit]

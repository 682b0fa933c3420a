"""OKX ``account/balance``, ``account/positions`` and the ``account``/``positions`` channel
rows, computed from the simulator's balances and positions marked at the synthetic mid.

OKX's unified account reports per-currency equity (cash + unrealised PnL of positions settled
in it), what is free, what open orders and position margin hold, and a USD total; positions
are one-way (``posSide`` net) with a signed ``pos``. ``balance_and_position`` rows say why
they were pushed (``eventType``: ``snapshot``, ``filled``, ``funding_fee``) and carry only
cash balances and position sizes, as OKX's do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeloop.emulator.account import SimAccount
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.okx.views import num

if TYPE_CHECKING:
    from tradeloop.emulator.okx.server import OkxEmulator

USD_LIKE = {"USDT", "USDC", "USD"}


class AccountViews:
    """Renders balances and positions; remembers when each position was opened."""

    def __init__(self, emu: OkxEmulator, account: SimAccount, mgn_mode: dict[str, str]) -> None:
        self.emu = emu
        self.account = account
        self.mgn_mode = mgn_mode
        self.pos_ctime: dict[str, int] = {}

    def pos_id(self, symbol: str) -> str:
        """The one (net) position's stable id on ``symbol``."""
        return str(1_000_000 + sorted(self.emu.instruments).index(symbol))

    def usd_price(self, ccy: str) -> float:
        if ccy in USD_LIKE:
            return 1.0
        m = self.emu.driver.markets.get(f"{ccy}-USDT")
        if m is not None:
            return m.mid()
        px = self.account.sim.last_price(f"{ccy}-USDT")
        return px or 0.0

    def account_rows(self, ccy: str) -> list[dict[str, Any]]:
        sim = self.account.sim
        wanted = {c for c in ccy.split(",") if c}
        t = str(now_ms())
        details = []
        total_eq = 0.0
        imr_by: dict[str, float] = {}
        upl_by: dict[str, float] = {}
        for sym, pos in sim.positions().items():
            inst = self.emu.instruments[sym]
            if pos.qty:
                mark = self.emu.driver.markets[sym].mid()
                upl_by[inst.settle] = upl_by.get(inst.settle, 0.0) + pos.unrealized(mark)
                imr_by[inst.settle] = imr_by.get(inst.settle, 0.0) + abs(
                    pos.qty
                ) * mark * inst.contract_value / sim.leverage(sym)
        for asset, bal in sim.balances().items():
            if wanted and asset not in wanted:
                continue
            if not bal.total and not bal.locked and asset not in upl_by:
                continue
            upl = upl_by.get(asset, 0.0)
            eq = bal.total + upl
            eq_usd = eq * self.usd_price(asset)
            total_eq += eq_usd
            imr = imr_by.get(asset, 0.0)
            ord_frozen = max(bal.locked - imr, 0.0)
            details.append(
                {
                    "accAvgPx": "",
                    "availBal": num(bal.free),
                    "availEq": num(bal.free + upl),
                    "borrowFroz": "",
                    "cashBal": num(bal.total),
                    "ccy": asset,
                    "clSpotInUseAmt": "",
                    "collateralEnabled": False,
                    "crossLiab": "",
                    "disEq": num(eq_usd),
                    "eq": num(eq),
                    "eqUsd": num(eq_usd),
                    "fixedBal": "0",
                    "frozenBal": num(bal.locked),
                    "imr": num(imr),
                    "interest": "",
                    "isoEq": "0",
                    "isoLiab": "",
                    "isoUpl": "0",
                    "liab": "",
                    "maxLoan": "",
                    "maxSpotInUseAmt": "",
                    "mgnRatio": "",
                    "mmr": num(imr / 2),
                    "notionalLever": "",
                    "openAvgPx": "",
                    "ordFrozen": num(ord_frozen),
                    "rewardBal": "0",
                    "smtSyncEq": "0",
                    "spotBal": "",
                    "spotCopyTradingEq": "0",
                    "spotInUseAmt": "",
                    "spotIsoBal": "0",
                    "spotUpl": "",
                    "spotUplRatio": "",
                    "stgyEq": "0",
                    "totalPnl": "",
                    "totalPnlRatio": "",
                    "twap": "0",
                    "uTime": t,
                    "upl": num(upl),
                    "uplLiab": "",
                }
            )
        return [
            {
                "adjEq": num(total_eq),
                "availEq": num(total_eq),
                "borrowFroz": "",
                "details": details,
                "imr": num(sum(imr_by.values())),
                "isoEq": "0",
                "mgnRatio": "",
                "mmr": num(sum(imr_by.values()) / 2),
                "notionalUsd": "",
                "notionalUsdForBorrow": "",
                "notionalUsdForFutures": "",
                "notionalUsdForOption": "",
                "notionalUsdForSwap": "",
                "ordFroz": "",
                "totalEq": num(total_eq),
                "uTime": t,
                "upl": num(sum(upl_by.values())),
            }
        ]

    def position_row(self, symbol: str, include_flat: bool = False) -> dict[str, Any] | None:
        sim = self.account.sim
        pos = sim.positions().get(symbol)
        if pos is None or (not pos.qty and not include_flat):
            return None
        inst = self.emu.instruments[symbol]
        m = self.emu.driver.markets[symbol]
        mark = m.mid()
        t = now_ms()
        if pos.qty:
            self.pos_ctime.setdefault(symbol, t)
        c_time = self.pos_ctime.get(symbol, t)
        if not pos.qty:
            self.pos_ctime.pop(symbol, None)
        lever = sim.leverage(symbol)
        notional = abs(pos.qty) * mark * inst.contract_value
        imr = notional / lever
        upl = pos.unrealized(mark)
        margin_base = abs(pos.qty) * pos.avg_price * inst.contract_value / lever
        fp = inst.format_price
        return {
            "adl": "1",
            "availPos": inst.format_qty(abs(pos.qty)) if pos.qty else "",
            "avgPx": fp(pos.avg_price) if pos.qty else "",
            "baseBal": "",
            "baseBorrowed": "",
            "baseInterest": "",
            "bePx": fp(pos.avg_price) if pos.qty else "",
            "bizRefId": "",
            "bizRefType": "",
            "cTime": str(c_time),
            "ccy": inst.settle,
            "clSpotInUseAmt": "",
            "closeOrderAlgo": [],
            "deltaBS": "",
            "deltaPA": "",
            "fee": num(-pos.fees, 12),
            "fundingFee": num(
                -sum(p.amount for p in sim.funding_payments() if p.symbol == symbol), 12
            ),
            "gammaBS": "",
            "gammaPA": "",
            "idxPx": fp(mark),
            "imr": num(imr),
            "instId": symbol,
            "instType": "SWAP",
            "interest": "",
            "last": m.last_trade.price,
            "lever": num(lever, 2),
            "liab": "",
            "liabCcy": "",
            "liqPenalty": "0",
            "liqPx": "",
            "margin": "",
            "markPx": fp(mark),
            "maxSpotInUseAmt": "",
            "mgnMode": self.mgn_mode.get(symbol, "cross"),
            "mgnRatio": "",
            "mmr": num(imr / 2),
            "notionalUsd": num(notional),
            "optVal": "",
            "pendingCloseOrdLiabVal": "",
            "pnl": num(pos.realized_pnl),
            "pos": inst.format_qty(abs(pos.qty))
            if pos.qty >= 0
            else "-" + inst.format_qty(abs(pos.qty)),
            "posCcy": "",
            "posId": self.pos_id(symbol),
            "posSide": "net",
            "quoteBal": "",
            "quoteBorrowed": "",
            "quoteInterest": "",
            "realizedPnl": num(pos.realized_pnl - pos.fees),
            "spotInUseAmt": "",
            "spotInUseCcy": "",
            "thetaBS": "",
            "thetaPA": "",
            "tradeId": "",
            "uTime": str(t),
            "upl": num(upl),
            "uplLastPx": num(upl),
            "uplRatio": num(upl / margin_base if margin_base else 0.0),
            "uplRatioLastPx": num(upl / margin_base if margin_base else 0.0),
            "usdPx": "",
            "vegaBS": "",
            "vegaPA": "",
        }

    def position_rows(self, arg: dict[str, str]) -> list[dict[str, Any]]:
        kind = arg.get("instType", "ANY") or "ANY"
        if kind not in ("ANY", "SWAP"):
            return []
        ids = {i for i in arg.get("instId", "").split(",") if i}
        out = []
        for sym in sorted(self.account.sim.positions()):
            if ids and sym not in ids:
                continue
            row = self.position_row(sym)
            if row is not None:
                out.append(row)
        return out

    def bal_pos_row(
        self,
        event_type: str,
        ccys: list[str] | None = None,
        symbols: list[str] | None = None,
        trades: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """One ``balance_and_position`` push item: the cash of ``ccys`` and the positions of
        ``symbols`` (None: every non-zero one, the ``snapshot`` a subscribe gets)."""
        sim = self.account.sim
        t = str(now_ms())
        balances = sim.balances()
        positions = sim.positions()
        if ccys is None:
            ccys = sorted(c for c, b in balances.items() if b.total)
        if symbols is None:
            symbols = sorted(s for s, p in positions.items() if p.qty)
        bal_data = [
            {"ccy": c, "cashBal": num(balances[c].total, 12) if c in balances else "0", "uTime": t}
            for c in ccys
        ]
        pos_data = []
        for sym in symbols:
            pos = positions.get(sym)
            inst = self.emu.instruments[sym]
            qty = pos.qty if pos is not None else 0.0
            size = inst.format_qty(abs(qty)) if qty else "0"
            pos_data.append(
                {
                    "avgPx": inst.format_price(pos.avg_price) if pos is not None and qty else "",
                    "ccy": inst.settle,
                    "instId": sym,
                    "instType": "SWAP",
                    "mgnMode": self.mgn_mode.get(sym, "cross"),
                    "nonSettleAvgPx": "",
                    "pos": size if qty >= 0 else "-" + size,
                    "posCcy": "",
                    "posId": self.pos_id(sym),
                    "posSide": "net",
                    "settledPnl": "",
                    "tradeId": (trades or [{}])[-1].get("tradeId", ""),
                    "uTime": t,
                }
            )
        return {
            "balData": bal_data,
            "eventType": event_type,
            "pTime": t,
            "posData": pos_data,
            "trades": trades or [],
        }

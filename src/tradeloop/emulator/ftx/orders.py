"""FTX order entry and account queries over the shared simulated account.

FTX checks an order's own fields (market, side, type, size and price increments, flags,
``clientId``) before it reaches the matching engine: the shared
:func:`~tradeloop.emulator.limits.check_entry`, in FTX's words. The simulator decides funds,
reduce-only and matching; its typed refusal becomes FTX's error text through :data:`refusal`.
A crossing post-only order is accepted and closed at once, as FTX does. Every simulator report
becomes a ``fills`` push per fill, then an ``orders`` push.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeloop.emulator.account import OrderInfo
from tradeloop.emulator.api import Refusals, iso, n
from tradeloop.emulator.ftx.rest import FtxError, Handler, Req, market_of, window
from tradeloop.emulator.limits import CAMEL_KEYS, EntryTexts, check_entry
from tradeloop.model import Fill, Liquidity, OrderReport, TimeInForce
from tradeloop.model.enums import OrderStatus, RejectReason
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:
    from tradeloop.emulator.ftx.server import FtxEmulator

R = RejectReason
#: The simulator's typed refusal -> FTX's error (HTTP status, text), raised as ``FtxError``.
refusal = Refusals(
    {
        R.INSUFFICIENT_FUNDS: (400, "Not enough balances"),
        R.INVALID_SIZE: (400, "Size too small"),
        R.INVALID_PRICE: (400, "Invalid price"),
        R.INVALID_INSTRUMENT: (404, "No such market"),
        R.REDUCE_ONLY: (400, "Invalid reduce-only order"),
        R.DUPLICATE_ID: (400, "Duplicate client order ID"),
        R.ORDER_NOT_FOUND: (404, "Order not found"),
        R.ORDER_CLOSED: (400, "Order already closed"),
    }
)


class FtxTrading:
    """FTX semantics on top of :class:`~tradeloop.emulator.account.SimAccount`."""

    def __init__(self, emu: FtxEmulator) -> None:
        self.emu = emu
        self.account = emu.new_account(10_000_000_000 + emu.config.seed * 100_000_000)
        self.account.order_listeners.append(self._on_order)
        self.account.trade_listeners.append(lambda m, t: emu.hub.push_trades(m, [t]))

    # -- shapes ------------------------------------------------------------------------------
    def order_row(
        self, info: OrderInfo, rec: SimOrder, fresh: bool = False, new: bool = False
    ) -> dict[str, Any]:
        """The FTX order object; ``fresh`` renders it as the matching engine first acked it
        (status ``new``, nothing filled: what FTX answers a placement with); ``new`` only
        says ``new`` instead of ``open`` (the push for an order just accepted)."""
        done = rec.status.is_terminal and not fresh
        filled = 0.0 if fresh else rec.filled_qty
        x = info.extra
        perp = self.emu.instruments[info.symbol].is_derivative
        return {
            "id": int(info.order_id),
            "clientId": info.client_id or None,
            "market": info.symbol,
            "future": info.symbol if perp else None,
            "type": x["type"],
            "side": rec.side.value,
            "price": x["price"],
            "size": x["size"],
            "status": "closed" if done else ("new" if fresh or new else "open"),
            "filledSize": filled,
            "remainingSize": 0.0 if done else n(max(x["size"] - filled, 0.0)),
            "avgFillPrice": n(rec.avg_price) if filled else None,
            "reduceOnly": rec.reduce_only,
            "ioc": x["ioc"],
            "postOnly": x["postOnly"],
            "liquidation": False,
            "createdAt": iso(info.c_time),
        }

    def fill_row(self, info: OrderInfo, f: Fill) -> dict[str, Any]:
        inst = self.emu.instruments[f.symbol]
        maker = f.liquidity is Liquidity.MAKER
        return {
            "id": 2 * int(f.trade_id) + (0 if maker else 1),
            "market": f.symbol,
            "future": f.symbol if inst.is_derivative else None,
            "baseCurrency": None if inst.is_derivative else inst.base,
            "quoteCurrency": None if inst.is_derivative else inst.quote,
            "type": "order",
            "side": f.side.value,
            "price": f.price,
            "size": f.qty,
            "orderId": int(info.order_id),
            "time": iso(f.ts // 1_000_000),
            "tradeId": int(f.trade_id),
            "feeRate": inst.maker_fee if maker else inst.taker_fee,
            "fee": n(f.fee),
            "feeCurrency": f.fee_ccy,
            "liquidity": f.liquidity.value,
        }

    # -- orders ------------------------------------------------------------------------------
    def place(self, body: dict[str, Any]) -> dict[str, Any]:
        inst = market_of(self.emu, body.get("market")).instrument
        e = check_entry(inst, body, CAMEL_KEYS, EntryTexts(), FtxError)
        if e.client_id and self.account.find(client_id=e.client_id) is not None:
            raise refusal(R.DUPLICATE_ID)
        px = float(e.price) if e.price else None
        extra = {"type": body["type"], "size": float(e.size), "price": px}
        extra |= {"ioc": e.tif is TimeInForce.IOC, "postOnly": e.tif is TimeInForce.POST_ONLY}
        info, rec = self.account.place(
            inst.symbol,
            e.side,
            float(e.size),
            px,
            e.tif,
            e.reduce_only,
            e.client_id,
            extra,
            keep=lambda code: code is R.POST_ONLY_WOULD_TAKE,  # FTX accepts, then closes it
        )
        if rec.status is OrderStatus.REJECTED and rec.code is not R.POST_ONLY_WOULD_TAKE:
            raise refusal(rec.code)
        return self.order_row(info, rec, fresh=True)

    def find(self, req: Req) -> OrderInfo:
        oid, cid = req.match.get("order_id", ""), req.match.get("client_id", "")
        info = self.account.find(oid if oid.isdigit() else "", cid)
        if info is None or (oid and not oid.isdigit()):
            raise refusal(R.ORDER_NOT_FOUND)
        return info

    def get(self, req: Req) -> dict[str, Any]:
        info = self.find(req)
        rec = self.account.record(info)
        if rec is None:
            raise refusal(R.ORDER_NOT_FOUND)
        return self.order_row(info, rec)

    def cancel(self, req: Req) -> str:
        if not self.account.cancel(self.find(req)):
            raise refusal(self.account.sim.last_refusal)
        return "Order queued for cancelation"

    def cancel_all(self, name: Any) -> str:
        self.account.cancel_all("" if name is None else market_of(self.emu, name).instrument.symbol)
        return "Orders queued for cancelation"

    def _market_filter(self, req: Req) -> str:
        """A listing's ``market`` filter ("" = all); an unknown market is FTX's 404."""
        name = req.query.get("market", "")
        return market_of(self.emu, name).instrument.symbol if name else ""

    def fills(self, req: Req) -> list[dict[str, Any]]:
        name, oid = self._market_filter(req), req.query.get("orderId", "")
        rows = self.account.fills(name, oid)
        found = window(rows, req.query, lambda r: r[1].ts // 1_000_000, 100)
        return [self.fill_row(i, f) for i, f in found]

    def listing(self, req: Req, open_only: bool) -> list[dict[str, Any]]:
        name = self._market_filter(req)
        found = window(self.account.orders(name, open_only), req.query, lambda r: r[0].c_time, 100)
        return [self.order_row(i, rec) for i, rec in found]

    # -- pushes ------------------------------------------------------------------------------
    def _on_order(
        self, info: OrderInfo, rec: SimOrder, rep: OrderReport, fills: list[Fill]
    ) -> None:
        if rep.status is OrderStatus.REJECTED and rep.code is not R.POST_ONLY_WOULD_TAKE:
            return  # never existed at FTX
        hub = self.emu.hub
        for f in fills:
            hub.push_private("fills", self.fill_row(info, f))
        new = rep.status is OrderStatus.ACCEPTED
        hub.push_private("orders", self.order_row(info, rec, new=new))

    # -- account -----------------------------------------------------------------------------
    def usd_value(self, coin: str) -> float:
        markets = self.emu.driver.markets
        m = markets.get(f"{coin}/USD") or markets.get(f"{coin}-PERP")
        return 1.0 if coin in ("USD", "USDT", "USDC") else (m.mid() if m else 0.0)

    def balances(self) -> list[dict[str, Any]]:
        return [
            {
                "coin": coin,
                "free": n(b.free),
                "total": n(b.total),
                "usdValue": n(b.total * self.usd_value(coin)),
                "availableWithoutBorrow": n(b.free),
                "spotBorrow": 0.0,
            }
            for coin, b in sorted(self.account.sim.balances().items())
        ]

    def positions(self) -> list[dict[str, Any]]:
        sim = self.account.sim
        out = []
        for sym, inst in self.emu.instruments.items():
            if not inst.is_derivative:
                continue
            pos = sim.positions().get(sym)
            qty, avg = (pos.qty, n(pos.avg_price)) if pos else (0.0, 0.0)
            mark = self.emu.driver.markets[sym].mid()
            lev = sim.leverage(sym)
            upnl = n(sim.unrealized_pnl(sym, mark))
            long_sz, short_sz = (n(q) for q in self.account.working_qty(sym))
            out.append(
                {
                    "future": sym,
                    "size": abs(qty),
                    "side": "sell" if qty < 0 else "buy",
                    "netSize": qty,
                    "longOrderSize": long_sz,
                    "shortOrderSize": short_sz,
                    "cost": n(qty * avg),
                    "entryPrice": avg or None,
                    "unrealizedPnl": upnl,
                    "realizedPnl": n(pos.realized_pnl) if pos else 0.0,
                    "initialMarginRequirement": 1.0 / lev,
                    "maintenanceMarginRequirement": 0.03,
                    "openSize": abs(qty) + max(long_sz, short_sz),
                    "collateralUsed": n(abs(qty) * mark / lev),
                    "estimatedLiquidationPrice": None,
                    "recentAverageOpenPrice": avg or None,
                    "recentPnl": upnl,
                    "recentBreakEvenPrice": avg or None,
                }
            )
        return out


# -- private endpoints ----------------------------------------------------------------------
PRIVATE: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/api/wallet/balances", lambda e, r: e.trading.balances(), True),
    ("GET", "/api/positions", lambda e, r: e.trading.positions(), True),
    ("GET", "/api/orders", lambda e, r: e.trading.listing(r, open_only=True), True),
    ("GET", "/api/orders/history", lambda e, r: e.trading.listing(r, open_only=False), True),
    ("GET", "/api/orders/by_client_id/{client_id}", lambda e, r: e.trading.get(r), True),
    ("GET", "/api/orders/{order_id}", lambda e, r: e.trading.get(r), True),
    ("POST", "/api/orders", lambda e, r: e.trading.place(r.body), True),
    ("DELETE", "/api/orders/by_client_id/{client_id}", lambda e, r: e.trading.cancel(r), True),
    ("DELETE", "/api/orders/{order_id}", lambda e, r: e.trading.cancel(r), True),
    ("DELETE", "/api/orders", lambda e, r: e.trading.cancel_all(r.body.get("market")), True),
    ("GET", "/api/fills", lambda e, r: e.trading.fills(r), True),
]

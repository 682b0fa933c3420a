"""Bitfinex order entry and account views over the shared simulated account.

One implementation serves both doors Bitfinex has: ``POST /v2/auth/w/order/*`` and the
authenticated WebSocket's channel-0 inputs (``on``, ``oc``, ``ou``, ``oc_multi``, ``ox_multi``).
Each request answers with a notification ``[MTS, TYPE, MESSAGE_ID, null, INFO, CODE, STATUS,
TEXT]`` (``on-req`` / ``oc-req`` / ``ou-req``, ``SUCCESS`` or ``ERROR``); what happens after
-- ``on``, ``te``/``tu``, ``ou``/``oc``, ``wu``, ``pn``/``pu``/``pc`` -- is pushed on channel 0 of
every authenticated connection.

The client key is ``cid`` + ``cid_date`` (the UTC day the order was created), as on Bitfinex.
The simulator decides funds, matching, fees and locks; its typed refusal becomes Bitfinex's
text through :data:`REFUSALS`. Trigger orders (STOP, STOP LIMIT, TRAILING STOP, OCO) are
:mod:`~tradeloop.emulator.bitfinex.stops`'. A derivative order's ``lev`` (1-100) sets the
perpetual's leverage for its margin and the position, as on Bitfinex. Perpetual funding is
:mod:`~tradeloop.emulator.bitfinex.funding`'s. Not modelled: margin trading on spot pairs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.account import OrderInfo
from tradeloop.emulator.bitfinex import markets as mk
from tradeloop.emulator.bitfinex import stops
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.limits import clip, is_multiple, positive_decimal
from tradeloop.model import Fill, Liquidity, OrderReport, Side, TimeInForce
from tradeloop.model.enums import OrderStatus, RejectReason
from tradeloop.model.instrument import plain_decimal
from tradeloop.model.order import Trigger
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:
    from tradeloop.emulator.bitfinex.server import BitfinexEmulator

R = RejectReason
FLAG_HIDDEN, FLAG_CLOSE, FLAG_REDUCE_ONLY, FLAG_POST_ONLY = 64, 512, 1024, 4096
FLAG_OCO = stops.FLAG_OCO
KNOWN_FLAGS = FLAG_HIDDEN | FLAG_CLOSE | FLAG_REDUCE_ONLY | FLAG_POST_ONLY | FLAG_OCO
#: type (without the ``EXCHANGE `` prefix) -> (market?, time in force)
TYPES: dict[str, tuple[bool, TimeInForce]] = {
    "LIMIT": (False, TimeInForce.GTC),
    "MARKET": (True, TimeInForce.IOC),
    "FOK": (False, TimeInForce.FOK),
    "IOC": (False, TimeInForce.IOC),
    # trigger types: the kind of child they turn into (see ``stops``)
    "STOP": (True, TimeInForce.IOC),
    "STOP LIMIT": (False, TimeInForce.GTC),
    "TRAILING STOP": (True, TimeInForce.IOC),
}
#: The simulator's typed refusal -> Bitfinex's text (ccxt matches on these words).
REFUSALS: dict[RejectReason, str] = {
    R.INSUFFICIENT_FUNDS: "Invalid order: not enough exchange balance",
    R.INVALID_SIZE: "Invalid order: minimum size",
    R.INVALID_PRICE: "Invalid price",
    R.INVALID_INSTRUMENT: "symbol: invalid",
    R.REDUCE_ONLY: "Invalid order: reduce-only order would increase position",
    R.ORDER_NOT_FOUND: "Order not found.",
    R.ORDER_CLOSED: "Order not found.",
}
ERR_GENERIC, ERR_PARAMS = 10001, 10020


class BfxError(Exception):
    """A refused request: Bitfinex's code and text (REST ``["error", code, text]``, WS an
    ``ERROR`` notification or an ``error`` event)."""

    def __init__(self, text: str, code: int = ERR_GENERIC) -> None:
        super().__init__(text)
        self.text, self.code = text, code


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _int(v: Any, what: str, lo: int = 0, hi: int = 2**53) -> int | None:
    if v is None:
        return None
    if isinstance(v, str) and v.isdigit() and len(v) < 17:
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise BfxError(f"{what}: invalid", ERR_PARAMS)
    return v


def client_key(cid: int, day: str) -> str:
    return f"{cid}:{day}"


class BitfinexTrading:
    """Bitfinex semantics over :class:`~tradeloop.emulator.account.SimAccount`."""

    def __init__(self, emu: BitfinexEmulator) -> None:
        self.emu = emu
        self.account = emu.new_account(
            50_000_000_000 + emu.config.seed * 100_000_000, fee_decimals=8
        )
        self.account.order_listeners.append(self._on_order)
        self.account.trade_listeners.append(lambda m, t: emu.hub.push_trades(m, [t]))
        self._position_ids: dict[str, int] = {}
        self._next_pid = 150_000_000
        self.stops = stops.StopBook(self)

    # -- shapes ------------------------------------------------------------------------------
    def status_text(self, info: OrderInfo, rec: SimOrder) -> str:
        sign = 1 if rec.side is Side.BUY else -1
        inst = self.emu.instruments[info.symbol]
        filled = plain_decimal(Decimal(repr(sign * rec.filled_qty)))
        done = f"@ {inst.format_price(rec.avg_price)}({filled})"
        s = rec.status
        if s is OrderStatus.FILLED:
            return "EXECUTED " + done
        if s is OrderStatus.PARTIALLY_FILLED:
            return "PARTIALLY FILLED " + done
        if s in (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED):
            tif = info.extra.get("tif")
            head = "CANCELED"
            if rec.code is R.POST_ONLY_WOULD_TAKE:
                head = "POSTONLY CANCELED"
            elif tif is TimeInForce.FOK:
                head = "FILLORKILL CANCELED"
            elif tif is TimeInForce.IOC and not info.extra.get("market"):
                head = "IOC CANCELED"
            return head + (f" was: PARTIALLY FILLED {done}" if rec.filled_qty > 0 else "")
        return "ACTIVE"

    def order_array(self, info: OrderInfo, rec: SimOrder, fresh: bool = False) -> list[Any]:
        """The 32-field ORDER array; ``fresh`` renders it as first acknowledged (nothing
        filled yet), which is what ``on`` and the ``on-req`` notification carry."""
        x = info.extra
        sign = 1 if rec.side is Side.BUY else -1
        filled = 0.0 if fresh else rec.filled_qty
        remaining = rec.qty - filled  # a canceled order keeps its unfilled rest, as on Bitfinex
        inst = self.emu.instruments[info.symbol]
        amount = inst.format_qty(remaining) if remaining > 0 else "0"
        avg = mk.num(inst.format_price(rec.avg_price)) if filled else 0
        price = x["price"] or (inst.format_price(rec.avg_price) if filled else None)
        if x.get("trailing") and not rec.triggered:
            price = self.stops.price_field(info, rec)
        status = "ACTIVE" if fresh else self.status_text(info, rec)
        trailing, aux = x.get("trailing"), x.get("aux")
        return [int(info.order_id), x.get("gid"), x.get("cid"), info.symbol, info.c_time,
                info.u_time, mk.num(amount if sign > 0 else mk.neg(amount)),
                mk.num(x["amount"]), x["type"], x.get("type_prev"), None, None, x["flags"],
                status, None, None, mk.num(price) if price else 0, avg,
                mk.num(trailing) if trailing else 0, mk.num(aux) if aux else 0, None, None,
                None, 0, 1 if x["flags"] & FLAG_HIDDEN else 0, x.get("placed_id"), None, None,
                "API>BFX", None, None, x.get("meta")]  # fmt: skip

    def trade_array(self, info: OrderInfo, f: Fill, with_fee: bool = True) -> list[Any]:
        """``[ID, SYMBOL, MTS, ORDER_ID, EXEC_AMOUNT, EXEC_PRICE, ORDER_TYPE, ORDER_PRICE,
        MAKER, FEE, FEE_CURRENCY, CID]``; a ``te`` carries no fee yet (``with_fee`` False)."""
        inst = self.emu.instruments[info.symbol]
        # to the nearest lot: a fill's float size can sit a hair under its lot (the last
        # piece of a sweep is the remainder of a float sum) and flooring it would lose a lot
        qty = inst.format_qty(f.qty + inst.lot_size / 2)
        x = info.extra
        fee: Any = mk.fnum(-f.fee) if with_fee else None
        return [int(f.trade_id), info.symbol, f.ts // 1_000_000, int(info.order_id),
                mk.num(qty if f.side is Side.BUY else mk.neg(qty)),
                mk.num(inst.format_price(f.price)), x["type"],
                mk.num(x["price"]) if x["price"] else None,
                1 if f.liquidity is Liquidity.MAKER else -1, fee,
                f.fee_ccy if with_fee else None, x.get("cid")]  # fmt: skip

    def wallet_type(self, ccy: str) -> str:
        return "margin" if ccy.endswith("F0") else "exchange"

    def wallets(self) -> list[list[Any]]:
        """``[WALLET_TYPE, CURRENCY, BALANCE, UNSETTLED_INTEREST, AVAILABLE_BALANCE, ...]``"""
        out = []
        for ccy, b in sorted(self.account.sim.balances().items()):
            out.append([self.wallet_type(ccy), ccy, mk.fnum(b.total), 0, mk.fnum(b.free), None,
                        None])  # fmt: skip
        return out

    def wallet(self, ccy: str, description: str | None = None) -> list[Any]:
        """A ``wu`` row: ``[..., AVAILABLE_BALANCE, DESCRIPTION, META]``; ``DESCRIPTION`` is
        the last ledger entry's when the update is one (funding), else null."""
        b = self.account.sim.balances().get(ccy)
        total, free = (b.total, b.free) if b else (0.0, 0.0)
        return [self.wallet_type(ccy), ccy, mk.fnum(total), 0, mk.fnum(free), description,
                None]  # fmt: skip

    def balance_info(self) -> list[Any]:
        """``bu``: ``[AUM, AUM_NET]`` -- the account's worth in USD (dollar currencies 1:1,
        others at the mid of their ``t{CCY}USD`` market; unpriced ones count 0)."""
        markets = self.emu.driver.markets
        aum = 0.0
        for ccy, b in self.account.sim.balances().items():
            name = ccy.removesuffix("F0")
            if name in ("USD", "UST"):
                aum += b.total
            elif (m := markets.get(f"t{name}USD")) is not None:
                aum += b.total * m.mid()
        return [mk.fnum(aum, 2), mk.fnum(aum, 2)]

    def position_array(self, sym: str, status: str = "ACTIVE") -> list[Any] | None:
        pos = self.account.sim.positions().get(sym)
        qty = pos.qty if pos else 0.0
        if not qty and status == "ACTIVE":
            return None
        if sym not in self._position_ids:
            self._next_pid += 1
            self._position_ids[sym] = self._next_pid
        pid = self._position_ids[sym]
        if status == "CLOSED":
            self._position_ids.pop(sym, None)
        inst = self.emu.instruments[sym]
        m = self.emu.driver.markets[sym]
        avg = pos.avg_price if pos else 0.0
        pl = (m.mid() - avg) * qty if qty else 0.0
        lev = self.account.sim.leverage(sym)
        t = now_ms()
        return [sym, status, mk.fnum(qty), mk.num(inst.format_price(avg)) if avg else 0, 0, 0,
                mk.fnum(pl), mk.fnum(pl / (abs(qty) * avg) * 100 if qty and avg else 0.0, 4),
                None, mk.fnum(lev, 2), None, pid, t, t, None, 0, None,
                mk.fnum(abs(qty) * avg / lev), 0, None]  # fmt: skip

    def positions(self) -> list[list[Any]]:
        rows = [self.position_array(s) for s in self.account.sim.positions()]
        return [r for r in rows if r is not None]

    # -- order entry -------------------------------------------------------------------------
    def submit(self, body: Any) -> list[Any]:
        """Place one order from an ``on`` / ``order/submit`` body; returns its ORDER array as
        acknowledged. Raises :class:`BfxError` for anything Bitfinex refuses."""
        if not isinstance(body, dict):
            raise BfxError("Invalid order: body", ERR_PARAMS)
        sym = body.get("symbol")
        if not isinstance(sym, str) or sym not in self.emu.instruments:
            raise BfxError("symbol: invalid", ERR_PARAMS)
        inst = self.emu.instruments[sym]
        otype = body.get("type")
        if not isinstance(otype, str):
            raise BfxError("type: invalid", ERR_PARAMS)
        exchange = otype.startswith("EXCHANGE ")
        base_type = otype.removeprefix("EXCHANGE ")
        if base_type not in TYPES:
            raise BfxError("type: invalid", ERR_PARAMS)
        if exchange == inst.is_derivative:
            why = "derivatives take margin types" if exchange else "spot takes EXCHANGE types"
            raise BfxError(f"Invalid order: {clip(otype, 32)} on {sym} ({why})")
        raw_amount = body.get("amount")
        text = raw_amount if isinstance(raw_amount, str) else (
            repr(raw_amount) if isinstance(raw_amount, int | float) else "")  # fmt: skip
        side = Side.SELL if text.startswith("-") else Side.BUY
        qty = positive_decimal(text.lstrip("-") if text.count("-") <= 1 else "")
        if qty is None:
            raise BfxError("amount: invalid", ERR_PARAMS)
        if qty < Decimal(repr(inst.min_size)):
            raise BfxError(f"Invalid order: minimum size for {sym[1:]} is {inst.min_size:g}")
        if not is_multiple(qty, inst.lot_size):
            raise BfxError("amount: invalid", ERR_PARAMS)
        market, tif = TYPES[base_type]
        price: Decimal | None = None
        trigger: Trigger | None = None
        shown: dict[str, Any] = {}
        flags = _int(body.get("flags"), "flags") or 0
        if flags & ~KNOWN_FLAGS:
            raise BfxError("flags: invalid", ERR_PARAMS)
        oco_stop = None
        try:
            if base_type in stops.TRIGGER_TYPES:
                trigger, price, shown = stops.parse_trigger(base_type, body, inst)
            elif not market:
                price = positive_decimal(body.get("price"))
                if price is None or not is_multiple(price, inst.tick_size):
                    raise BfxError("price: invalid", ERR_PARAMS)
            if flags & FLAG_OCO:
                oco_stop = stops.oco_stop(body, base_type, inst)
        except stops.StopError as err:
            raise BfxError(err.text, ERR_PARAMS if err.params else ERR_GENERIC) from None
        post = bool(flags & FLAG_POST_ONLY)
        if post and (market or tif is not TimeInForce.GTC or trigger is not None):
            raise BfxError("Invalid order: post-only only on LIMIT orders")
        reduce = bool(flags & (FLAG_REDUCE_ONLY | FLAG_CLOSE))
        if reduce and not inst.is_derivative:
            raise BfxError("Invalid order: reduce-only is for margin/derivative positions")
        cid = _int(body.get("cid"), "cid", 1, 2**45)
        gid = _int(body.get("gid"), "gid", 1, 2**45)
        lev = _int(body.get("lev"), "lev", 1, 100)
        sim = self.account.sim
        if (
            lev
            and inst.is_derivative
            and lev != sim.leverage(sym)
            and not sim.set_leverage(sym, lev)
        ):
            raise BfxError(f"Invalid order: leverage {lev} does not fit the position margin")
        t = now_ms()
        key = client_key(cid, _day(t)) if cid is not None else ""
        meta = body.get("meta") if isinstance(body.get("meta"), dict) else None
        tif = TimeInForce.POST_ONLY if post else tif
        extra: dict[str, Any] = {"type": otype, "cid": cid, "gid": gid, "flags": flags,
                 "meta": meta,
                 "price": plain_decimal(price) if price else None, "lev": lev, "market": market,
                 "amount": plain_decimal(qty) if side is Side.BUY else "-" + plain_decimal(qty),
                 "tif": tif, **shown}  # fmt: skip
        self.emu.hub.hold()
        try:
            info, rec = self.account.place(
                sym, side, float(qty), float(price) if price else None, tif, reduce,
                key, extra, keep=lambda code: code is R.POST_ONLY_WOULD_TAKE, trigger=trigger,
            )  # fmt: skip
            if rec.status is OrderStatus.REJECTED and rec.code is not R.POST_ONLY_WOULD_TAKE:
                raise self.refusal(rec.code, sym, side, qty, price)
            if oco_stop is not None:
                self.stops.place_oco_stop(info, oco_stop, float(qty), side)
            return self.order_array(info, rec, fresh=True)
        finally:
            self.emu.hub.release()

    def refusal(self, code: RejectReason, sym: str = "", side: Side = Side.BUY,
                qty: Decimal = Decimal(0), price: Decimal | None = None) -> BfxError:  # fmt: skip
        text = REFUSALS.get(code, "Invalid order")
        if code is R.INSUFFICIENT_FUNDS:
            amt = plain_decimal(qty) if side is Side.BUY else "-" + plain_decimal(qty)
            text += f" for {amt} {sym[1:]} @ {plain_decimal(price) if price else 'MARKET'}"
        return BfxError(text)

    def find(self, body: Any) -> OrderInfo:
        """An order named by ``{id}`` or ``{cid, cid_date}``."""
        if not isinstance(body, dict):
            raise BfxError("Order not found.")
        oid = _int(body.get("id"), "id")
        if oid is not None:
            info = self.account.find(order_id=str(oid))
        else:
            cid = _int(body.get("cid"), "cid", 1, 2**45)
            day = body.get("cid_date")
            if cid is None or not isinstance(day, str):
                raise BfxError("id: invalid", ERR_PARAMS)
            info = self.account.find(client_id=client_key(cid, day[:10]))
        if info is None:
            raise BfxError("Order not found.")
        return info

    def cancel(self, body: Any) -> list[Any]:
        info = self.find(body)
        rec = self.account.record(info)
        if rec is None or rec.status.is_terminal:
            raise BfxError("Order not found.")
        self.emu.hub.hold()
        try:
            if not self.account.cancel(info):
                raise self.refusal(self.account.sim.last_refusal)
            rec = self.account.record(info)
            assert rec is not None
            return self.order_array(info, rec)
        finally:
            self.emu.hub.release()

    def cancel_multi(self, body: Any) -> list[list[Any]]:
        """``{id: [...]}``, ``{cid: [[cid, date], ...]}``, ``{gid: [...]}`` or ``{all: 1}``;
        orders already closed are skipped, as Bitfinex does."""
        if not isinstance(body, dict):
            raise BfxError("Invalid body", ERR_PARAMS)
        targets: list[OrderInfo] = []
        if body.get("all") in (1, True):
            targets = [i for i, _ in self.account.orders(open_only=True)]
        for oid in body.get("id") or []:
            info = self.account.find(order_id=str(_int(oid, "id")))
            targets += [info] if info else []
        for pair in body.get("cid") or []:
            if isinstance(pair, list) and len(pair) >= 2 and isinstance(pair[1], str):
                key = client_key(_int(pair[0], "cid", 1, 2**45) or 0, pair[1][:10])
                info = self.account.find(client_id=key)
                targets += [info] if info else []
        gids = {_int(g, "gid") for g in body.get("gid") or []}
        if gids:
            targets += [i for i, _ in self.account.orders(open_only=True)
                        if i.extra.get("gid") in gids]  # fmt: skip
        out = []
        self.emu.hub.hold()
        try:
            for info in {i.order_id: i for i in targets}.values():  # each order once
                rec = self.account.record(info)
                if rec is not None and not rec.status.is_terminal and self.account.cancel(info):
                    rec = self.account.record(info)
                    assert rec is not None
                    out.append(self.order_array(info, rec))
        finally:
            self.emu.hub.release()
        return out

    def update(self, body: Any) -> list[Any]:
        """``{id, price?, amount?, delta?}`` -- a new price and/or new total amount."""
        info = self.find(body)
        rec = self.account.record(info)
        if rec is None or rec.status.is_terminal:
            raise BfxError("Order not found.")
        if rec.trigger is not None and not rec.triggered:
            raise BfxError("Invalid order: an untriggered stop cannot be updated here; "
                           "cancel it and place it again")  # fmt: skip
        inst = self.emu.instruments[info.symbol]
        new_price = new_qty = None
        if body.get("price") is not None:
            p = positive_decimal(body.get("price"))
            if p is None or not is_multiple(p, inst.tick_size) or info.extra["market"]:
                raise BfxError("price: invalid", ERR_PARAMS)
            new_price = float(p)
        raw = body.get("amount")
        if raw is None and body.get("delta") is not None:
            d = str(body.get("delta"))
            dq = positive_decimal(d.lstrip("-"))
            if dq is None:
                raise BfxError("delta: invalid", ERR_PARAMS)
            cur = Decimal(info.extra["amount"].lstrip("-"))
            raw = plain_decimal(cur - dq if d.startswith("-") else cur + dq)
        if raw is not None:
            q = positive_decimal(str(raw).lstrip("-"))
            if q is None or not is_multiple(q, inst.lot_size):
                raise BfxError("amount: invalid", ERR_PARAMS)
            new_qty = float(q)
        self.emu.hub.hold()
        try:
            if not self.account.amend(info, new_qty, new_price):
                raise self.refusal(self.account.sim.last_refusal)
            if new_price is not None:
                info.extra["price"] = inst.format_price(new_price)
            if new_qty is not None:
                q_text = inst.format_qty(new_qty)
                info.extra["amount"] = q_text if rec.side is Side.BUY else "-" + q_text
            rec = self.account.record(info)
            assert rec is not None
            return self.order_array(info, rec)
        finally:
            self.emu.hub.release()

    # -- queries -----------------------------------------------------------------------------
    def open_orders(self, sym: str = "", ids: Any = None) -> list[list[Any]]:
        want = {str(i) for i in ids} if isinstance(ids, list) else None
        return [self.order_array(i, r) for i, r in self.account.orders(sym, open_only=True)
                if want is None or i.order_id in want]  # fmt: skip

    def closed_orders(self, sym: str = "", ids: Any = None, limit: int = 25) -> list[list[Any]]:
        want = {str(i) for i in ids} if isinstance(ids, list) else None
        rows = [self.order_array(i, r) for i, r in self.account.orders(sym)
                if r.status.is_terminal and (want is None or i.order_id in want)]  # fmt: skip
        return rows[:limit]

    def trades(self, sym: str = "", order_id: str = "", limit: int = 25) -> list[list[Any]]:
        return [self.trade_array(i, f) for i, f in self.account.fills(sym, order_id)][:limit]

    # -- pushes ------------------------------------------------------------------------------
    def _on_order(
        self, info: OrderInfo, rec: SimOrder, rep: OrderReport, fills: list[Fill]
    ) -> None:
        if rep.status is OrderStatus.REJECTED and rep.code is not R.POST_ONLY_WOULD_TAKE:
            return  # never existed at Bitfinex
        push = self.emu.hub.push_account
        inst = self.emu.instruments[info.symbol]
        if rep.status is OrderStatus.ACCEPTED and not fills:
            push("on", self.order_array(info, rec, fresh=True))
            info.extra["announced"] = True
            return
        if not info.extra.get("announced"):
            push("on", self.order_array(info, rec, fresh=True))
        info.extra["announced"] = True
        for f in fills:
            push("te", self.trade_array(info, f, with_fee=False))
        kind = "oc" if rec.status.is_terminal else "ou"
        push(kind, self.order_array(info, rec))
        for f in fills:
            push("tu", self.trade_array(info, f))
        if fills or rec.status.is_terminal:
            for ccy in dict.fromkeys((inst.base, inst.quote, inst.settle)):
                if ccy in self.account.sim.balances():
                    push("wu", self.wallet(ccy))
            push("bu", self.balance_info())
        if fills and inst.is_derivative:
            opened = info.symbol not in self._position_ids  # no position id yet: a new one
            pos = self.position_array(info.symbol)
            if pos is None:
                closed = self.position_array(info.symbol, "CLOSED")
                if closed is not None:
                    push("pc", closed)
            else:
                push("pn" if opened else "pu", pos)

    def snapshots(self) -> list[tuple[str, Any]]:
        """What a fresh authenticated connection gets: ``ps``, ``ws``, ``os``."""
        return [("ps", self.positions()), ("ws", self.wallets()), ("os", self.open_orders())]

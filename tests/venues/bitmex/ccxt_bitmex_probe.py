"""Run by ``test_ccxt.py`` under ``.venv-ccxt4582/bin/python`` (ccxt 4.5.82, the last release
with BitMEX), never imported by pytest: unmodified ccxt ``bitmex`` and ccxt.pro ``bitmex`` with
only their URLs pointed at the emulator, one call per step. It prints one JSON object: what
each step returned (the facts the test checks), or ``{"failed": step, "error": ...}`` for the
first step that raised, so a failure names the ccxt call.

    python ccxt_bitmex_probe.py http://127.0.0.1:PORT KEY SECRET
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import ccxt
import ccxt.pro


def point(ex: Any, base: str) -> Any:
    ex.urls["api"]["public"] = base
    ex.urls["api"]["private"] = base
    ex.urls["api"]["ws"] = base.replace("http://", "ws://") + "/realtime"
    return ex


async def probe(base: str, key: str, secret: str, out: dict[str, Any]) -> None:
    out["version"] = ccxt.__version__
    out["has"] = {k: bool(ccxt.pro.bitmex().has.get(k)) for k in ("watchOrderBook", "watchOrders")}
    # no client-side throttle: the emulator's own limit (120 a minute) is far off
    ex = point(ccxt.pro.bitmex({"apiKey": key, "secret": secret, "enableRateLimit": False}), base)
    sym = "BTC/USD:BTC"
    try:
        out["step"] = "load_markets"
        markets = await ex.load_markets()
        m = markets[sym]
        out["market"] = {
            "id": m["id"],
            "inverse": m["inverse"],
            "linear": m["linear"],
            "contractSize": m["contractSize"],
            "settle": m["settle"],
            "symbols": sorted(markets),
        }
        out["step"] = "fetch_ticker"
        t = await ex.fetch_ticker(sym)
        out["ticker"] = {"bid": t["bid"], "ask": t["ask"], "last": t["last"]}
        out["step"] = "fetch_order_book"
        ob = await ex.fetch_order_book(sym, 25)
        out["book"] = {"bids": ob["bids"][:25], "asks": ob["asks"][:25]}
        out["step"] = "fetch_trades"
        trades = await ex.fetch_trades(sym)
        out["trades"] = [{"symbol": x["symbol"], "price": x["price"]} for x in trades[-5:]]
        out["step"] = "fetch_ohlcv"
        out["ohlcv"] = await ex.fetch_ohlcv(sym, "1m", limit=5)
        out["step"] = "fetch_balance"
        bal = await ex.fetch_balance()
        out["balance"] = {c: bal[c]["total"] for c in ("BTC", "USDT") if c in bal}
        out["step"] = "create_order limit"
        bid = ob["bids"][0][0]
        price = ex.price_to_precision(sym, bid * 0.9)
        lim = await ex.create_order(sym, "limit", "buy", 100, float(price))
        out["limit"] = {k: lim[k] for k in ("id", "status", "amount", "price", "type", "side")}
        out["step"] = "fetch_open_orders"
        out["open"] = [o["id"] for o in await ex.fetch_open_orders(sym)]
        out["step"] = "cancel_order"
        c = await ex.cancel_order(lim["id"], sym)
        out["canceled"] = {"id": c["id"], "status": c["status"]}
        out["open_after"] = [o["id"] for o in await ex.fetch_open_orders(sym)]
        out["step"] = "create_order market"
        mkt = await ex.create_order(sym, "market", "buy", 200)
        out["market_order"] = {k: mkt[k] for k in ("id", "status", "amount", "filled", "type")}
        out["step"] = "fetch_my_trades"
        mine = await ex.fetch_my_trades(sym)
        out["my_trades"] = [
            {"order": x["order"], "side": x["side"], "amount": x["amount"], "fee": x["fee"]}
            for x in mine
        ]
        out["step"] = "fetch_positions"
        pos = await ex.fetch_positions([sym])
        out["positions"] = [
            {"symbol": p["symbol"], "contracts": p["contracts"], "side": p["side"]} for p in pos
        ]
        if out["has"]["watchOrderBook"]:
            out["step"] = "watch_order_book"
            wob = await asyncio.wait_for(ex.watch_order_book(sym), 10)
            for _ in range(3):  # a few updates on top of the partial
                wob = await asyncio.wait_for(ex.watch_order_book(sym), 10)
            out["watch_book"] = {"bid": wob["bids"][0][0], "ask": wob["asks"][0][0]}
        if out["has"]["watchOrders"]:
            out["step"] = "watch_orders"
            watching = asyncio.ensure_future(ex.watch_orders(sym))
            await asyncio.sleep(0.5)  # subscribed (and authenticated) before the order
            lim2 = await ex.create_order(sym, "limit", "sell", 100, float(price) * 2)
            seen = await asyncio.wait_for(watching, 10)
            out["watch_orders"] = {
                "placed": lim2["id"],
                "seen": [{"id": o["id"], "status": o["status"]} for o in seen],
            }
            await ex.cancel_order(lim2["id"], sym)
        out["step"] = "done"
    finally:
        await ex.close()


def main() -> None:
    base, key, secret = sys.argv[1:4]
    out: dict[str, Any] = {}
    try:
        asyncio.run(probe(base, key, secret, out))
    except Exception as exc:  # reported to the test, which names the step
        out["failed"] = out.get("step")
        out["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    print(json.dumps(out))


if __name__ == "__main__":
    main()

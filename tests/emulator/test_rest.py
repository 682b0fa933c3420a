"""REST: OKX envelope, public endpoints, trading error codes and batch semantics, faults."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.okx.server import OkxEmulator

from .helpers import Client


def _all_strings(obj: Any) -> bool:
    if isinstance(obj, dict):
        return all(
            _all_strings(v)
            for k, v in obj.items()
            if k not in ("attachAlgoOrds", "linkedAlgoOrd", "collateralEnabled")
        )
    if isinstance(obj, list):
        return all(_all_strings(v) for v in obj)
    return isinstance(obj, str)


async def test_public_time_and_instruments(client: Client) -> None:
    status, body = await client.get("/api/v5/public/time")
    assert status == 200 and body["code"] == "0" and body["msg"] == ""
    assert body["data"][0]["ts"].isdigit()
    _, spot = await client.get("/api/v5/public/instruments?instType=SPOT")
    by_id = {r["instId"]: r for r in spot["data"]}
    assert set(by_id) == {"BTC-USDT", "ETH-USDT"}
    assert by_id["BTC-USDT"]["tickSz"] == "0.1" and by_id["BTC-USDT"]["minSz"] == "0.00001"
    assert all("instIdCode" not in r for r in spot["data"])
    _, swap = await client.get("/api/v5/public/instruments?instType=SWAP")
    (row,) = swap["data"]
    assert (row["instId"], row["ctVal"], row["lotSz"], row["settleCcy"]) == (
        "BTC-USDT-SWAP",
        "0.01",
        "1",
        "USDT",
    )
    for kind in ("FUTURES", "OPTION"):
        _, other = await client.get(f"/api/v5/public/instruments?instType={kind}")
        assert other == {"code": "0", "msg": "", "data": []}
    status, bad = await client.get("/api/v5/public/instruments?instType=NOPE")
    assert bad["code"] == "51000" and status == 400
    status, missing = await client.get("/api/v5/public/instruments")
    assert missing["code"] == "50014"


async def test_market_data_shapes(client: Client) -> None:
    _, t = await client.get("/api/v5/market/ticker?instId=BTC-USDT")
    tick = t["data"][0]
    assert _all_strings(tick)
    assert float(tick["bidPx"]) < float(tick["askPx"])
    _, ts = await client.get("/api/v5/market/tickers?instType=SPOT")
    assert {r["instId"] for r in ts["data"]} == {"BTC-USDT", "ETH-USDT"}
    _, b = await client.get("/api/v5/market/books?instId=BTC-USDT&sz=50")
    book = b["data"][0]
    assert len(book["bids"]) == 50 and len(book["asks"]) == 50
    assert all(len(lv) == 4 and lv[2] == "0" for lv in book["bids"] + book["asks"])
    bids = [float(lv[0]) for lv in book["bids"]]
    asks = [float(lv[0]) for lv in book["asks"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks) and bids[0] < asks[0]
    _, one = await client.get("/api/v5/market/books?instId=BTC-USDT")
    assert len(one["data"][0]["bids"]) == 1
    _, tr = await client.get("/api/v5/market/trades?instId=BTC-USDT&limit=5")
    assert 1 <= len(tr["data"]) <= 5
    assert set(tr["data"][0]) == {"instId", "side", "sz", "px", "tradeId", "ts"}
    ids = [int(x["tradeId"]) for x in tr["data"]]
    assert ids == sorted(ids, reverse=True)


async def test_candles_newest_first_with_paging(client: Client) -> None:
    _, c = await client.get("/api/v5/market/candles?instId=BTC-USDT&bar=1m&limit=10")
    rows = c["data"]
    assert len(rows) == 10 and all(len(r) == 9 for r in rows)
    ts = [int(r[0]) for r in rows]
    assert ts == sorted(ts, reverse=True) and ts[0] - ts[1] == 60_000
    assert rows[0][8] == "0" and all(r[8] == "1" for r in rows[1:])
    for r in rows:
        o, h, lo, cl = map(float, r[1:5])
        assert lo <= min(o, cl) and h >= max(o, cl)
    _, older = await client.get(
        f"/api/v5/market/candles?instId=BTC-USDT&bar=1m&after={ts[4]}&limit=3"
    )
    assert [int(r[0]) for r in older["data"]] == ts[5:8]
    _, newer = await client.get(f"/api/v5/market/candles?instId=BTC-USDT&bar=1m&before={ts[4]}")
    assert [int(r[0]) for r in newer["data"]] == ts[:4]
    _, hourly = await client.get("/api/v5/market/history-candles?instId=BTC-USDT&bar=1H&limit=5")
    hts = [int(r[0]) for r in hourly["data"]]
    assert len(hts) == 5 and all(t % 3_600_000 == 0 for t in hts)
    _, daily = await client.get("/api/v5/market/candles?instId=BTC-USDT&bar=1D")
    assert all((int(r[0]) + 8 * 3_600_000) % 86_400_000 == 0 for r in daily["data"])
    _, bad = await client.get("/api/v5/market/candles?instId=BTC-USDT&bar=7m")
    assert bad["code"] == "51000"


async def test_unknown_instrument_and_path(client: Client) -> None:
    status, body = await client.get("/api/v5/market/ticker?instId=NOPE-USDT")
    assert (status, body["code"], body["data"]) == (200, "51001", [])
    status, body = await client.get("/api/v5/market/books?instId=BTC-USDT&sz=abc")
    assert body["code"] == "51000"
    status, body = await client.get("/api/v5/market/nothing-here")
    assert status == 404


async def test_funding_rate(client: Client) -> None:
    _, body = await client.get("/api/v5/public/funding-rate?instId=BTC-USDT-SWAP")
    row = body["data"][0]
    assert row["instId"] == "BTC-USDT-SWAP" and float(row["fundingRate"]) == 0.0001
    assert int(row["fundingTime"]) % (8 * 3_600_000) == 0


# -- trading --------------------------------------------------------------------------------
async def _best(client: Client, inst: str) -> tuple[float, float]:
    _, b = await client.get(f"/api/v5/market/books?instId={inst}")
    return float(b["data"][0]["bids"][0][0]), float(b["data"][0]["asks"][0][0])


async def test_place_query_cancel_lifecycle(client: Client) -> None:
    bid, _ = await _best(client, "BTC-USDT")
    px = f"{bid - 500:.1f}"
    status, body = await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "limit",
            "sz": "0.01",
            "px": px,
            "clOrdId": "lifecycle1",
        },
    )
    assert status == 200 and body["code"] == "0", body
    item = body["data"][0]
    assert item["sCode"] == "0" and item["clOrdId"] == "lifecycle1" and item["ordId"]
    assert "inTime" in body and "outTime" in body
    oid = item["ordId"]
    _, got = await client.get(f"/api/v5/trade/order?instId=BTC-USDT&ordId={oid}", signed=True)
    row = got["data"][0]
    assert (row["state"], row["px"], row["sz"], row["side"], row["ordType"]) == (
        "live",
        px,
        "0.01",
        "buy",
        "limit",
    )
    assert _all_strings(row)
    _, by_cl = await client.get(
        "/api/v5/trade/order?instId=BTC-USDT&clOrdId=lifecycle1", signed=True
    )
    assert by_cl["data"][0]["ordId"] == oid
    _, pend = await client.get("/api/v5/trade/orders-pending?instId=BTC-USDT", signed=True)
    assert [r["ordId"] for r in pend["data"]] == [oid]
    _, bal = await client.get("/api/v5/account/balance?ccy=USDT", signed=True)
    assert float(bal["data"][0]["details"][0]["frozenBal"]) > 0
    _, cancel = await client.post(
        "/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": oid}
    )
    assert cancel["code"] == "0" and cancel["data"][0]["sCode"] == "0"
    _, got = await client.get(f"/api/v5/trade/order?instId=BTC-USDT&ordId={oid}", signed=True)
    assert got["data"][0]["state"] == "canceled"
    _, hist = await client.get("/api/v5/trade/orders-history?instType=SPOT", signed=True)
    assert oid in [r["ordId"] for r in hist["data"]]
    # cancelling again: 51400, request-level code 1
    _, again = await client.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": oid})
    assert again["code"] == "1" and again["data"][0]["sCode"] == "51400"
    _, unknown = await client.get("/api/v5/trade/order?instId=BTC-USDT&ordId=123", signed=True)
    assert unknown["code"] == "51603" and unknown["data"] == []


async def test_market_fill_fees_and_fills(client: Client) -> None:
    _, body = await client.post(
        "/api/v5/trade/order",
        {
            "instId": "ETH-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "market",
            "sz": "0.5",
            "tgtCcy": "base_ccy",
        },
    )
    oid = body["data"][0]["ordId"]
    _, got = await client.get(f"/api/v5/trade/order?instId=ETH-USDT&ordId={oid}", signed=True)
    row = got["data"][0]
    assert row["state"] == "filled" and row["accFillSz"] == "0.5"
    # OKX charges a spot buy's fee in the base currency: the account receives 0.5 ETH - fee
    assert float(row["fee"]) < 0 and row["feeCcy"] == "ETH" and float(row["avgPx"]) > 0
    _, fills = await client.get(f"/api/v5/trade/fills?ordId={oid}", signed=True)
    assert sum(float(f["fillSz"]) for f in fills["data"]) == 0.5
    assert all(f["execType"] == "T" for f in fills["data"])
    _, bal = await client.get("/api/v5/account/balance?ccy=ETH", signed=True)
    cash = float(bal["data"][0]["details"][0]["cashBal"])
    assert cash == pytest.approx(0.5 + float(row["fee"]))
    # quote-sized market buy (OKX default tgtCcy for buys): spend 100 USDT
    _, q = await client.post(
        "/api/v5/trade/order",
        {"instId": "ETH-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "100"},
    )
    assert q["data"][0]["sCode"] == "0"


async def test_order_error_codes(client: Client) -> None:
    base = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "1000"}
    cases = [
        ({**base, "instId": "NOPE-USDT", "sz": "1"}, "51001"),
        ({**base, "side": "up", "sz": "1"}, "51000"),
        ({**base, "ordType": "stop", "sz": "1"}, "51000"),
        ({**base, "sz": "abc"}, "51000"),
        ({**base, "sz": "0.000000001"}, "51121"),
        ({**base, "sz": "0.000001"}, "51020"),
        ({**base, "sz": "500"}, "51008"),
        ({**base, "px": "1000.05", "sz": "0.01"}, "51000"),
        ({**base, "clOrdId": "bad-id!", "sz": "0.01"}, "51000"),
    ]
    for payload, code in cases:
        status, body = await client.post("/api/v5/trade/order", payload)
        assert status == 200, payload
        assert body["code"] == "1" and body["msg"], payload
        assert body["data"][0]["sCode"] == code, (payload, body)
        assert body["data"][0]["sMsg"]
    ok = {**base, "sz": "0.001", "clOrdId": "dup1"}
    assert (await client.post("/api/v5/trade/order", ok))[1]["code"] == "0"
    _, dup = await client.post("/api/v5/trade/order", ok)
    assert dup["data"][0]["sCode"] == "51016"


async def test_batch_partial_and_total_failure(client: Client) -> None:
    good = {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "sz": "0.001",
        "px": "1000",
    }
    bad = {**good, "instId": "NOPE-USDT"}
    _, part = await client.post("/api/v5/trade/batch-orders", [good, bad])
    assert part["code"] == "2"
    assert [d["sCode"] for d in part["data"]] == ["0", "51001"]
    _, whole = await client.post("/api/v5/trade/batch-orders", [bad, bad])
    assert whole["code"] == "1" and [d["sCode"] for d in whole["data"]] == ["51001", "51001"]
    _, ok = await client.post("/api/v5/trade/batch-orders", [good, good])
    assert ok["code"] == "0"
    ids = [d["ordId"] for d in ok["data"]]
    cancels = [{"instId": "BTC-USDT", "ordId": i} for i in ids] + [
        {"instId": "BTC-USDT", "ordId": "42"}
    ]
    _, c = await client.post("/api/v5/trade/cancel-batch-orders", cancels)
    assert c["code"] == "2" and [d["sCode"] for d in c["data"]] == ["0", "0", "51400"]


async def test_amend(client: Client) -> None:
    _, body = await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "limit",
            "sz": "0.01",
            "px": "1000",
        },
    )
    oid = body["data"][0]["ordId"]
    _, am = await client.post(
        "/api/v5/trade/amend-order",
        {"instId": "BTC-USDT", "ordId": oid, "newSz": "0.02", "newPx": "1001.5", "reqId": "r1"},
    )
    assert am["code"] == "0" and am["data"][0]["reqId"] == "r1"
    _, got = await client.get(f"/api/v5/trade/order?instId=BTC-USDT&ordId={oid}", signed=True)
    assert (got["data"][0]["sz"], got["data"][0]["px"]) == ("0.02", "1001.5")
    _, bad = await client.post(
        "/api/v5/trade/amend-order", {"instId": "BTC-USDT", "ordId": "999", "newSz": "1"}
    )
    assert bad["code"] == "1" and bad["data"][0]["sCode"] == "51503"


async def test_swap_position_and_leverage(client: Client) -> None:
    _, lev = await client.post(
        "/api/v5/account/set-leverage", {"instId": "BTC-USDT-SWAP", "lever": 5, "mgnMode": "cross"}
    )
    assert lev["code"] == "0" and lev["data"][0]["lever"] == "5"
    _, info = await client.get(
        "/api/v5/account/leverage-info?instId=BTC-USDT-SWAP&mgnMode=cross", signed=True
    )
    assert info["data"][0]["lever"] == "5"
    _, bad = await client.post(
        "/api/v5/account/set-leverage",
        {"instId": "BTC-USDT-SWAP", "lever": "500", "mgnMode": "cross"},
    )
    assert bad["code"] == "51000"
    _, o = await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT-SWAP",
            "tdMode": "cross",
            "side": "sell",
            "ordType": "market",
            "sz": "2",
        },
    )
    assert o["code"] == "0", o
    _, pos = await client.get("/api/v5/account/positions?instType=SWAP", signed=True)
    (p,) = pos["data"]
    assert (p["instId"], p["pos"], p["posSide"], p["lever"]) == ("BTC-USDT-SWAP", "-2", "net", "5")
    assert float(p["avgPx"]) > 0 and p["mgnMode"] == "cross"
    _, lot = await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT-SWAP",
            "tdMode": "cross",
            "side": "buy",
            "ordType": "market",
            "sz": "1.5",
        },
    )
    assert lot["data"][0]["sCode"] == "51121"
    _, mode = await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT-SWAP",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "market",
            "sz": "1",
        },
    )
    assert mode["data"][0]["sCode"] == "51000"


async def test_funding_settlement_moves_balance(
    frozen_emu: OkxEmulator, frozen_client: Client
) -> None:
    client = frozen_client
    await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT-SWAP",
            "tdMode": "cross",
            "side": "buy",
            "ordType": "market",
            "sz": "10",
        },
    )
    _, before = await client.get("/api/v5/account/balance?ccy=USDT", signed=True)
    frozen_emu.trading.settle_funding()
    _, after = await client.get("/api/v5/account/balance?ccy=USDT", signed=True)
    paid = float(before["data"][0]["details"][0]["cashBal"]) - float(
        after["data"][0]["details"][0]["cashBal"]
    )
    assert paid > 0  # a long pays a positive funding rate


async def test_post_body_errors(client: Client) -> None:
    path = "/api/v5/trade/order"
    from .helpers import signed_headers

    async with client.session.post(
        client.base + path, data="{not json", headers=signed_headers("POST", path, "{not json")
    ) as r:
        assert r.status == 400 and (await r.json())["code"] == "50002"


# -- faults ---------------------------------------------------------------------------------
async def test_fault_rate_limit_then_server_error(emu: OkxEmulator, client: Client) -> None:
    emu.faults.fail_next_429(2)
    for _ in range(2):
        status, body = await client.get("/api/v5/public/time")
        assert (status, body["code"]) == (429, "50011")
    status, body = await client.get("/api/v5/public/time")
    assert status == 200
    emu.faults.fail_next_5xx(1)
    status, body = await client.get("/api/v5/market/ticker?instId=BTC-USDT")
    assert (status, body["code"]) == (503, "50001")
    assert (await client.get("/api/v5/public/time"))[0] == 200


async def test_admin_endpoint(emu: OkxEmulator) -> None:
    async with aiohttp.ClientSession(headers=emu.admin_headers()) as s:
        async with s.post(
            emu.base_url + "/__admin/faults",
            json={"fail_next": {"count": 1, "kind": "5xx"}, "latency_ms": 5},
        ) as r:
            state = await r.json()
            assert r.status == 200 and state["fail_remaining"] == 1 and state["latency_ms"] == 5
        async with s.get(emu.base_url + "/api/v5/public/time") as r:
            assert r.status == 503
        async with s.post(emu.base_url + "/__admin/faults", json={"typo": 1}) as r:
            assert r.status == 400
        async with s.post(emu.base_url + "/__admin/faults", json={"reset": True}) as r:
            assert (await r.json())["latency_ms"] == 0
        async with s.get(emu.base_url + "/__admin/faults") as r:
            assert (await r.json())["fail_remaining"] == 0


async def test_misc_account_endpoints(client: Client) -> None:
    _, cfg = await client.get("/api/v5/account/config", signed=True)
    assert cfg["data"][0]["posMode"] == "net_mode"
    _, pm = await client.post("/api/v5/account/set-position-mode", {"posMode": "long_short_mode"})
    assert pm["code"] == "51000"
    _, fee = await client.get(
        "/api/v5/account/trade-fee?instType=SPOT&instId=BTC-USDT", signed=True
    )
    assert fee["data"][0]["taker"] == "-0.001"
    _, mark = await client.get("/api/v5/public/mark-price?instType=SWAP")
    assert [r["instId"] for r in mark["data"]] == ["BTC-USDT-SWAP"]
    _, hist = await client.get("/api/v5/trade/fills-history?instType=SPOT", signed=True)
    assert hist["code"] == "0"


async def test_listing_pagination_and_bad_params(client: Client) -> None:
    ids = []
    for px in ("1000", "1001", "1002"):
        _, body = await client.post(
            "/api/v5/trade/order",
            {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "limit",
                "sz": "0.001",
                "px": px,
            },
        )
        ids.append(body["data"][0]["ordId"])
    _, pend = await client.get("/api/v5/trade/orders-pending?instType=SPOT", signed=True)
    assert [r["ordId"] for r in pend["data"]] == ids[::-1]  # newest first
    _, older = await client.get(f"/api/v5/trade/orders-pending?after={ids[2]}&limit=1", signed=True)
    assert [r["ordId"] for r in older["data"]] == [ids[1]]
    _, newer = await client.get(f"/api/v5/trade/orders-pending?before={ids[0]}", signed=True)
    assert [r["ordId"] for r in newer["data"]] == [ids[2], ids[1]]
    _, bad = await client.get("/api/v5/trade/orders-pending?after=abc", signed=True)
    assert bad["code"] == "51000"
    _, hist = await client.get("/api/v5/trade/orders-history", signed=True)
    assert hist["code"] == "50014"


async def test_post_only_and_ioc(frozen_client: Client) -> None:
    client = frozen_client
    _, ask = await _best(client, "BTC-USDT")
    px = f"{ask:.1f}"
    _, po = await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "post_only",
            "sz": "0.001",
            "px": px,
        },
    )
    assert po["code"] == "0"  # OKX accepts, then cancels a post-only order that would take
    oid = po["data"][0]["ordId"]
    _, got = await client.get(f"/api/v5/trade/order?instId=BTC-USDT&ordId={oid}", signed=True)
    assert got["data"][0]["state"] == "canceled" and got["data"][0]["accFillSz"] == "0"
    _, ioc = await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "ioc",
            "sz": "1",
            "px": px,
        },
    )
    oid = ioc["data"][0]["ordId"]
    _, got = await client.get(f"/api/v5/trade/order?instId=BTC-USDT&ordId={oid}", signed=True)
    row = got["data"][0]
    assert row["state"] in ("canceled", "filled") and 0 < float(row["accFillSz"]) <= 1
    assert float(row["avgPx"]) == float(px)

"""``tradeloop paper --venue bitmex`` on the inverse XBTUSD, as processes: ``tradeloop emulator
bitmex ...`` (the issue's command: ``--balance XBt=100000000 --balance USDt=10000000000``) in
one process, the paper run of ``tests/strategies/flip.py`` in another. The run must exit 0, keep
its money in BTC, log no secret, and its fills must account for the emulator's XBt wallet
exactly:

* the wallet is the deposit plus its ``walletHistory`` rows, integer satoshi, one
  ``RealisedPNL`` row per execution (BitMEX books realised PnL per execution in whole satoshi);
* every row is reproduced to the satoshi from the paper run's own fills (trades.csv) by
  BitMEX's integer rules, written here independently of the emulator's ledger: the engine's
  record of what traded determines the venue's wallet exactly;
* the engine's own PnL (``realized - fees`` in result.json) equals the wallet's movement to the
  satoshi: its positions on BitMEX instruments book each execution in whole satoshi by the
  same rules (``Instrument.settle_per_unit``, ``model.position``), not a continuous float
  that would drift by up to a satoshi per fill;
* funding (settled every 1.5 s here, BitMEX's ``execType=Funding`` rows) is in that PnL: each
  payment booked once (``FundingPaid``), its wallet row matched to the satoshi."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from tests.support.paper_cli import FLIP, assert_no_secret, cli_env, emulator, paper, signed_qty

from tradeloop.venues.bitmex.rest import BitmexRestClient

KEY, SECRET = "K-bitmex-paper", "S-bitmex-paper-secret"
SAT = 100_000_000
EMULATOR = ("--api-key", KEY, "--api-secret", SECRET,
            "--balance", "XBt=100000000", "--balance", "USDt=10000000000",
            "--symbols", "XBTUSD,ETHUSD,XBTUSDT", "--tick-ms", "50",
            "--funding-rate", "0.0005", "--funding-interval-s", "1.5")  # fmt: skip


async def test_paper_cli_inverse_xbtusd(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    with emulator(env, "bitmex", *EMULATOR) as emu:
        run = paper(env, FLIP, tmp_path / "paper", "--venue", "bitmex", "--url", emu.url,
                    "--api-key", KEY, "--api-secret", SECRET, "--symbol", "XBTUSD", "--bar",
                    "1s", "--duration", "8", "--no-dashboard", "--cash", "0.5")  # fmt: skip
        rest = BitmexRestClient(emu.url, KEY, SECRET)
        try:
            wallet = await rest.request("GET", "/api/v1/user/wallet", {"currency": "XBt"}, None,
                                        True)  # fmt: skip
            execs = await rest.all_executions()
            history = await rest.request("GET", "/api/v1/user/walletHistory", {"currency": "XBt"},
                                         None, True)  # fmt: skip
            (pos,) = [p for p in await rest.positions() if p["symbol"] == "XBTUSD"]
        finally:
            await rest.close()
    result, fills = run.result, run.fills
    assert result["venue"] == "bitmex" and result["symbols"] == ["XBTUSD.BITMEX"]
    assert result["bars"] >= 5 and 0.4 < result["equity"] < 0.6  # BTC, not USD
    run.assert_summary()
    assert fills, "flip trades on every bar"
    assert {f["fee_ccy"] for f in fills} == {"BTC"}
    # the venue's executions are the paper's fills, commission for commission (whole satoshi)
    trades = [e for e in execs if e["execType"] == "Trade"]
    assert sorted(e["execID"] for e in trades) == sorted(f["trade_id"] for f in fills)
    paper_fee = {f["trade_id"]: round(float(f["fee"]) * SAT) for f in fills}
    assert {e["execID"]: e["execComm"] for e in trades} == paper_fee
    # inverse money: contracts net to the venue's position, cash moves as qty/price in BTC
    assert pos["currentQty"] == signed_qty(fills)
    # the wallet is the deposit plus its history, integer satoshi, newest row first
    rows = history[::-1]
    assert rows[0]["transactType"] == "Deposit" and rows[0]["amount"] == SAT
    assert all(isinstance(r["amount"], int) for r in rows)
    assert wallet["amount"] == sum(r["amount"] for r in rows) == rows[-1]["walletBalance"]
    balance = 0
    for r in rows:
        balance += r["amount"]
        assert r["walletBalance"] == balance
    pnl_rows = [r for r in rows if r["transactType"] == "RealisedPNL" and r["text"] != "Funding"]
    # settled every 1.5 s here: every other settlement falls mid-bar, and flip holds its long
    # on every other bar, so some fall on a long whatever the run's phase
    funding_rows = [r for r in rows if r["text"] == "Funding"]
    assert funding_rows, "no funding settled while the strategy held a position"
    assert [r["tx"] for r in pnl_rows] == [e["execID"] for e in trades]  # one per execution
    # ... each reproduced exactly from the paper's fills by BitMEX's integer rules
    by_id = {f["trade_id"]: f for f in fills}
    expected = _satoshi_bookings([by_id[r["tx"]] for r in pnl_rows])
    assert [r["amount"] for r in pnl_rows] == expected
    # the engine booked every payment once, and its PnL -- funding included -- is the
    # wallet's movement, to the satoshi
    paid = -sum(r["amount"] for r in funding_rows)
    assert round(result["funding"]["XBTUSD.BITMEX"] * SAT) == paid
    assert result["funding_payments"] == len(funding_rows)
    moved = wallet["amount"] - SAT
    engine = sum(s["realized"] - s["fees"] for s in result["strategies"].values())
    assert round(engine * SAT) == moved, (engine, moved)
    assert abs(engine * SAT - moved) < 1e-3  # whole satoshi, not a rounding away
    assert wallet["amount"] > 0.99 * SAT  # a few seconds of taker fees on 0.5 BTC of XBTUSD
    assert_no_secret(emu.logs + run.logs, SECRET)
    # the registry armed the dead-man switch for the run and its clean exit turned it off
    assert "dead-man switch turned off" in run.logs, run.logs[-2000:]
    assert "dead-man switch armed: 60000 ms" in emu.logs and "dead-man switch off" in emu.logs
    assert "ran out" not in emu.logs


def _signed(f: dict[str, str]) -> Fraction:
    qty = Fraction(Decimal(f["qty"]))
    return qty if f["side"] == "buy" else -qty


def _satoshi_bookings(fills: list[dict[str, str]]) -> list[int]:
    """What BitMEX books per XBTUSD execution, in satoshi: realised PnL minus commission.
    Inverse, 1 USD contracts: an execution of q contracts at p is worth round(q * 1e8 / p);
    opening adds that to the position's cost, closing c of Q takes round(cost * c / Q) off it
    and realises (cost share - worth) for a long, the negative for a short."""
    qty, cost, out = Fraction(0), 0, []
    for f in fills:
        price, s = Fraction(Decimal(f["price"])), _signed(f)

        def worth(n: Fraction, price: Fraction = price) -> int:
            return round(n * SAT / price)

        pnl = 0
        if qty and (qty > 0) != (s > 0):
            closing = min(abs(s), abs(qty))
            share = round(cost * closing / abs(qty))
            pnl = (share - worth(closing)) * (1 if qty > 0 else -1)
            cost -= share
            opening = abs(s) - closing
        else:
            opening = abs(s)
        qty += s
        cost = cost + worth(opening) if opening else (cost if qty else 0)
        out.append(pnl - round(Fraction(Decimal(f["fee"])) * SAT))
    return out


def test_paper_cli_wrong_secret_is_one_line(tmp_path: Path) -> None:
    """A wrong secret: BitMEX's 401 "Signature not valid." as one line, exit 2, no traceback,
    neither the wrong nor the right secret anywhere in the output."""
    env = cli_env(tmp_path)
    wrong = "S-wrong-secret-value"
    with emulator(env, "bitmex", *EMULATOR) as emu:
        cmd = [sys.executable, "-m", "tradeloop.cli", "paper", str(FLIP), "--venue", "bitmex",
               "--url", emu.url, "--api-key", KEY, "--api-secret", wrong, "--symbol",
               "XBTUSD", "--bar", "1s", "--duration", "3", "--no-dashboard", "--out",
               str(tmp_path / "out")]  # fmt: skip
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "error" in line.lower()]
    assert errors and "Signature not valid" in errors[-1], run.stderr[-2000:]
    assert_no_secret(run.stdout + run.stderr + emu.logs, wrong, SECRET)

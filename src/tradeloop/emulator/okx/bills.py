"""OKX account bills: the ledger ``GET /api/v5/account/bills`` (last 7 days) and
``/account/bills-archive`` (last 3 months) serve, and the record funding leaves in it.

OKX writes one bill per balance change; this emulator keeps the funding ones (``type`` 8,
``subType`` 173 expense / 174 income), because funding is money that moves without an order
and a connector can only learn its amount from here. ``balChg`` (and ``pnl``, the same number
for funding) is the signed change of the account's balance -- negative when the account paid
-- written with every digit of the float the simulated wallet moved, so the bills add up to
the wallet exactly; ``bal`` is the balance after it, ``sz`` the position in contracts (always
positive), ``px`` the mark price it was settled at.

Listings are newest first, as OKX sends them: ``after`` = a billId, older rows; ``before`` =
newer rows; ``begin``/``end`` bound ``ts`` (ms, both inclusive); ``limit`` at most 100;
``instType``, ``instId``, ``ccy``, ``mgnMode``, ``ctType``, ``type`` and ``subType`` filter.
Trade bills (type 2) are not kept: fills have ``/trade/fills``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.okx.errors import OkxError
from tradeloop.emulator.okx.rest import Ctx, Handler
from tradeloop.emulator.okx.rest_public import INST_TYPES, int_param

if TYPE_CHECKING:
    from tradeloop.emulator.okx.server import OkxEmulator

#: bill type and subtypes of a funding payment (OKX's codes)
FUNDING_TYPE = "8"
FUNDING_EXPENSE = "173"
FUNDING_INCOME = "174"
DAY_MS = 86_400_000
#: how far back each endpoint reaches
RECENT_MS = 7 * DAY_MS
ARCHIVE_MS = 92 * DAY_MS
#: OKX bill ids are 18-digit numbers that grow with time; ours start here
FIRST_BILL_ID = 700_000_000_000_000_000


def exact(x: float) -> str:
    """A float as plain decimal text that reads back as the same float (no exponent)."""
    text = format(Decimal(repr(float(x))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


@dataclass
class BillBook:
    """The account's bills, oldest first (bill ids ascending)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = FIRST_BILL_ID

    def funding(
        self,
        *,
        inst_id: str,
        ccy: str,
        change: float,
        balance: float,
        contracts: str,
        mark: str,
        mgn_mode: str,
        ts: int,
    ) -> dict[str, Any]:
        """Write the bill of one funding settlement (``change`` < 0: the account paid)."""
        self.next_id += 1
        amount = exact(change)
        row = {
            "bal": exact(balance),
            "balChg": amount,
            "billId": str(self.next_id),
            "ccy": ccy,
            "clOrdId": "",
            "execType": "",
            "fee": "0",
            "fillFwdPx": "",
            "fillIdxPx": "",
            "fillMarkPx": "",
            "fillMarkVol": "",
            "fillPxUsd": "",
            "fillPxVol": "",
            "fillTime": "",
            "from": "",
            "instId": inst_id,
            "instType": "SWAP",
            "interest": "0",
            "mgnMode": mgn_mode,
            "notes": "",
            "ordId": "",
            "pnl": amount,
            "posBal": "0",
            "posBalChg": "0",
            "px": mark,
            "subType": FUNDING_EXPENSE if change < 0 else FUNDING_INCOME,
            "sz": contracts,
            "tag": "",
            "to": "",
            "tradeId": "",
            "ts": str(ts),
            "type": FUNDING_TYPE,
        }
        self.rows.append(row)
        return row

    def query(
        self, ctx: Ctx, reach_ms: int, ct_type: Callable[[str], str] = lambda _: ""
    ) -> list[dict[str, Any]]:
        """One page of bills as OKX filters and orders them (see the module docstring);
        ``ct_type(instId)`` is ``linear``/``inverse``, for the ``ctType`` filter."""
        kind, contract = ctx.get("instType"), ctx.get("ctType")
        if kind and kind not in INST_TYPES:
            raise OkxError("51000", "", "instType")
        if contract and contract not in ("linear", "inverse"):
            raise OkxError("51000", "", "ctType")
        limit = int_param(ctx, "limit", 100, 1, 100)
        after = int_param(ctx, "after", 0, 0, 1 << 80)
        before = int_param(ctx, "before", 0, 0, 1 << 80)
        begin = int_param(ctx, "begin", 0, 0, 1 << 62)
        end = int_param(ctx, "end", 0, 0, 1 << 62)
        oldest = now_ms() - reach_ms
        wanted = {
            k: ctx.get(k) for k in ("instType", "instId", "ccy", "mgnMode", "type", "subType")
        }
        out: list[dict[str, Any]] = []
        for row in reversed(self.rows):
            bill, ts = int(row["billId"]), int(row["ts"])
            if (after and bill >= after) or (before and bill <= before):
                continue
            if ts < max(oldest, begin) or (end and ts > end):
                continue
            if any(v and row[k] != v for k, v in wanted.items()):
                continue
            if contract and ct_type(row["instId"]) != contract:
                continue
            out.append(row)
            if len(out) >= limit:
                break
        return out


def _query(emu: OkxEmulator, ctx: Ctx, reach_ms: int) -> list[dict[str, Any]]:
    bills: BillBook = emu.trading.bills

    def ct_type(inst_id: str) -> str:
        inst = emu.instruments.get(inst_id)
        return "" if inst is None else "inverse" if inst.inverse else "linear"

    return bills.query(ctx, reach_ms, ct_type)


async def recent(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    return _query(emu, ctx, RECENT_MS)


async def archive(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    return _query(emu, ctx, ARCHIVE_MS)


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/api/v5/account/bills", recent, True),
    ("GET", "/api/v5/account/bills-archive", archive, True),
]

"""OKX instrument definitions: real ones from a cryptofeed capture when available, else defaults.

The capture (``OKX.0``: lines ``URL -> ts: {"code":"0","data":[...]}``) gives real tick, lot,
min size and contract value, which is what makes rounding bugs visible. It is read at runtime
and never copied into the repository. ``instIdCode`` is dropped on purpose: when instruments
carry it, ccxt sends ``instIdCode`` instead of ``instId`` in WS order args.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.model.enums import InstrumentKind
from tradeloop.model.instrument import Instrument

log = logging.getLogger(__name__)

#: Where the capture is looked for (first hit wins); ``TRADELOOP_OKX_INSTRUMENTS`` overrides.
CAPTURE_CANDIDATES = (
    Path(__file__).resolve().parents[4].parent / "shared" / "data" / "captures" / "OKX.0",
    Path("/work/shared/data/captures/OKX.0"),
)

#: OKX default fee tier (Lv1): spot maker 0.08% / taker 0.10%; swap 0.02% / 0.05%.
SPOT_FEES = (0.0008, 0.001)
SWAP_FEES = (0.0002, 0.0005)

_DEFAULTS: dict[str, dict[str, str]] = {
    "BTC-USDT": {"tickSz": "0.1", "lotSz": "0.00000001", "minSz": "0.00001"},
    "ETH-USDT": {"tickSz": "0.01", "lotSz": "0.000001", "minSz": "0.001"},
    "BTC-USDT-SWAP": {"tickSz": "0.1", "lotSz": "1", "minSz": "1", "ctVal": "0.01"},
    "ETH-USDT-SWAP": {"tickSz": "0.01", "lotSz": "1", "minSz": "1", "ctVal": "0.1"},
}


def _capture_path(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("TRADELOOP_OKX_INSTRUMENTS")
    if env:
        return Path(env)
    return next((p for p in CAPTURE_CANDIDATES if p.is_file()), None)


def load_capture(path: Path) -> dict[str, dict[str, Any]]:
    """instId -> raw instrument row, last occurrence wins."""
    rows: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if "/public/instruments" not in line or ": {" not in line:
                continue
            body = line[line.index(": {") + 2 :]
            try:
                doc = json.loads(body)
            except json.JSONDecodeError:
                continue
            for row in doc.get("data") or []:
                if isinstance(row, dict) and row.get("instId"):
                    rows[row["instId"]] = row
    return rows


def _spot_row(inst_id: str, spec: dict[str, str]) -> dict[str, Any]:
    base, quote = inst_id.split("-")[:2]
    return {
        "alias": "",
        "baseCcy": base,
        "category": "1",
        "ctMult": "",
        "ctType": "",
        "ctVal": "",
        "ctValCcy": "",
        "expTime": "",
        "instFamily": "",
        "instId": inst_id,
        "instType": "SPOT",
        "lever": "10",
        "listTime": "1548133413000",
        "lotSz": spec["lotSz"],
        "maxIcebergSz": "9999999999",
        "maxLmtAmt": "20000000",
        "maxLmtSz": "9999999999",
        "maxMktAmt": "1000000",
        "maxMktSz": "1000000",
        "maxStopSz": "1000000",
        "maxTriggerSz": "9999999999",
        "maxTwapSz": "9999999999",
        "minSz": spec["minSz"],
        "optType": "",
        "quoteCcy": quote,
        "ruleType": "normal",
        "settleCcy": "",
        "state": "live",
        "stk": "",
        "tickSz": spec["tickSz"],
        "uly": "",
    }


def _swap_row(inst_id: str, spec: dict[str, str]) -> dict[str, Any]:
    base, quote = inst_id.split("-")[:2]
    return {
        "alias": "",
        "baseCcy": "",
        "category": "1",
        "ctMult": "1",
        "ctType": "linear",
        "ctVal": spec.get("ctVal", "1"),
        "ctValCcy": base,
        "expTime": "",
        "instFamily": f"{base}-{quote}",
        "instId": inst_id,
        "instType": "SWAP",
        "lever": "100",
        "listTime": "1611916828000",
        "lotSz": spec["lotSz"],
        "maxIcebergSz": "100000000",
        "maxLmtAmt": "20000000",
        "maxLmtSz": "100000000",
        "maxMktAmt": "",
        "maxMktSz": "10000",
        "maxStopSz": "10000",
        "maxTriggerSz": "100000000",
        "maxTwapSz": "100000000",
        "minSz": spec["minSz"],
        "optType": "",
        "quoteCcy": "",
        "ruleType": "normal",
        "settleCcy": quote,
        "state": "live",
        "stk": "",
        "tickSz": spec["tickSz"],
        "uly": f"{base}-{quote}",
    }


def _validate_id(inst_id: str) -> None:
    parts = inst_id.split("-")
    ok = (len(parts) == 2 or (len(parts) == 3 and parts[2] == "SWAP")) and all(parts)
    if not ok:
        raise ConfigError(
            f"symbol {inst_id!r}: expected OKX spot (BASE-QUOTE) or swap (BASE-QUOTE-SWAP) id"
        )


def inst_id_code(inst_id: str) -> int:
    """A stable numeric instrument code (OKX's ``instIdCode``) for ids the capture lacks."""
    return 10_000 + zlib.crc32(inst_id.encode()) % 9_000_000


def okx_rows(
    symbols: Iterable[str], capture_file: str | None = None, with_code: bool = False
) -> dict[str, dict[str, Any]]:
    """The OKX ``public/instruments`` rows for ``symbols`` (strings, exactly as OKX sends).

    ``instIdCode`` is included only ``with_code``: when instruments carry it, ccxt sends it
    *instead of* ``instId`` in WS order args (the emulator accepts both either way)."""
    path = _capture_path(capture_file)
    captured: dict[str, dict[str, Any]] = {}
    if path is not None and path.is_file():
        try:
            captured = load_capture(path)
        except OSError as exc:
            log.warning("cannot read OKX instruments capture %s: %s", path, exc)
    out: dict[str, dict[str, Any]] = {}
    for sym in symbols:
        inst_id = sym.strip().upper()
        _validate_id(inst_id)
        swap = inst_id.endswith("-SWAP")
        row = captured.get(inst_id)
        if row is not None:
            row = {k: v for k, v in row.items() if k != "instIdCode"}
            if swap:
                row.setdefault("instFamily", row.get("uly") or inst_id[: -len("-SWAP")])
            else:
                row.setdefault("instFamily", "")
            row.setdefault("ruleType", "normal")
        else:
            spec = _DEFAULTS.get(inst_id) or (
                {"tickSz": "0.1", "lotSz": "1", "minSz": "1", "ctVal": "0.01"}
                if swap
                else {"tickSz": "0.01", "lotSz": "0.000001", "minSz": "0.001"}
            )
            row = _swap_row(inst_id, spec) if swap else _spot_row(inst_id, spec)
        if with_code:
            row["instIdCode"] = inst_id_code(inst_id)
        out[inst_id] = row
    return out


def to_instrument(row: dict[str, Any]) -> Instrument:
    """Tradeloop's :class:`Instrument` for an OKX row (what SimExchange is given)."""
    inst_id: str = row["instId"]
    base, quote = inst_id.split("-")[:2]
    swap = row["instType"] == "SWAP"
    maker, taker = SWAP_FEES if swap else SPOT_FEES
    return Instrument(
        symbol=inst_id,
        base=base,
        quote=quote,
        tick_size=float(row["tickSz"]),
        lot_size=float(row["lotSz"]),
        min_size=float(row["minSz"]),
        contract_value=float(row["ctVal"]) if swap and row.get("ctVal") else 1.0,
        maker_fee=maker,
        taker_fee=taker,
        kind=InstrumentKind.SWAP if swap else InstrumentKind.SPOT,
        settle=(row.get("settleCcy") or quote) if swap else quote,
        venue="OKX",
    )

"""OKX's FMZ conventions: symbols, the packed passphrase, ``__api_`` under ``/api/v5/``.

Everything else — books, orders, balances, instruments — is the OKX connector's
(:mod:`tradeloop.venues.okx`), reached through the generic adapter; the reads the Gateway
contract lacks are in :mod:`.okx_queries`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradeloop.fmz.conventions import Conventions, Transport
from tradeloop.fmz.protocol import Credentials, FmzError
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.fmz.venues.okx_queries import OkxQueries, okx_rest
from tradeloop.model import Instrument
from tradeloop.model.identity import native_of
from tradeloop.venues.base import Gateway
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.ratelimit import RateLimiter

#: FMZ contract code -> OKX instId suffix (a six-digit code is an OKX expiry, kept as is)
_CONTRACTS = {"swap": "SWAP"}


def split_secret(secret_key: str) -> tuple[str, str, bool]:
    """``secret,passphrase[,simulate]`` -> (secret, passphrase, simulated).

    OKX secrets never contain commas but a passphrase may, so only the first comma and an
    optional trailing ``,simulate`` are separators."""
    secret, _, passphrase = secret_key.partition(",")
    simulated = passphrase.lower().endswith(",simulate")
    if simulated:
        passphrase = passphrase[: -len(",simulate")]
    secret, passphrase = secret.strip(), passphrase.strip()
    if not secret or not passphrase:
        raise FmzError(
            "OKX: secret_key must be 'secret,passphrase' (append ',simulate' for demo trading)"
        )
    return secret, passphrase, simulated


class OkxConventions(Conventions):
    """``BTC_USDT`` = ``BTC-USDT.OKX``, ``BTC_USDT.swap`` = ``BTC-USDT-SWAP.OKX``,
    ``BTC_USD.250328`` = ``BTC-USD-250328.OKX``. Venue option ``td_mode``: the margin mode of
    swap orders (``cross``)."""

    venue = C.VENUE
    api_prefixes = ("/api/v5/",)

    def __init__(self) -> None:
        self.queries = OkxQueries()

    def instrument_id(self, symbol: FmzSymbol) -> str:
        pair = f"{symbol.base}-{symbol.quote}"
        if symbol.is_spot:
            return self.symbol_id(pair)
        suffix = _CONTRACTS.get(symbol.contract)
        if suffix is None:
            if not (symbol.contract.isdigit() and len(symbol.contract) == 6):
                raise FmzError(f"OKX: unsupported contract type {symbol.contract!r} (use .swap "
                               "or an expiry YYMMDD)")  # fmt: skip
            suffix = symbol.contract
        return self.symbol_id(f"{pair}-{suffix}")

    def fmz_symbol(self, symbol_id: str, inst: Instrument | None = None) -> str:
        """``BTC-USDT-SWAP.OKX`` -> ``BTC_USDT.swap``: the instId says it all."""
        parts = native_of(symbol_id).split("-")
        if len(parts) < 2:
            return native_of(symbol_id)
        pair = f"{parts[0]}_{parts[1]}"
        return pair if len(parts) == 2 else f"{pair}.{parts[2].lower()}"

    def credentials(self, creds: Credentials) -> tuple[dict[str, str], dict[str, Any]]:
        secret, passphrase, simulated = split_secret(creds.secret_key)
        keys = {"api_key": creds.access_key, "secret": secret, "passphrase": passphrase}
        return keys, {"simulated": simulated}

    def gateway_options(
        self,
        url: str,
        transport: Transport,
        credentials: Mapping[str, str],
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The gateway's REST client on the bridge's HTTP pool, retrying once; OKX's
        client-side limits unless ``rate_limits = "off"`` (an emulator)."""
        simulated = bool(options.get("simulated", False))
        rest = OkxRestClient(
            url,
            credentials.get("api_key", ""),
            credentials.get("secret", ""),
            credentials.get("passphrase", ""),
            simulated,
            timeout=transport.timeout,
            retry=transport.retry,
            limiter=None if transport.rate_limits else RateLimiter({}),
            session=transport.session,
        )
        out: dict[str, Any] = {"rest": rest, "simulated": simulated}
        if options.get("td_mode"):
            out["derivative_td_mode"] = str(options["td_mode"])
        return out

    async def api(
        self, gw: Gateway, method: str, path: str, params: Mapping[str, Any], signed: bool
    ) -> Any:
        """The guide: ``data`` is the endpoint's whole reply (OKX's envelope, code 0 here;
        an error code raises and becomes the docker's ``error``)."""
        data = await okx_rest(gw).request(method, path, dict(params), signed)
        return {"code": "0", "data": data, "msg": ""}

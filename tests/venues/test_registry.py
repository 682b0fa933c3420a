"""The venue registry: one table for CLI choices, emulator front-ends, FMZ labels, credential
variables and default URLs; built-ins (OKX, SIM) registered; parts imported only by name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.venues import registry
from tradeloop.venues.okx.gateway import OkxGateway


def test_builtins_and_lookups() -> None:
    assert {"OKX", "SIM"} <= set(registry.names())
    okx = registry.get("okx")
    assert (okx.name, okx.cli_name, okx.fmz_label) == ("OKX", "okx", "OKX")
    assert okx.rest_url == "https://www.okx.com" and okx.ws_url.startswith("wss://")
    assert "okx" in registry.cli_choices() and "sim" not in registry.cli_choices()
    assert "okx" in registry.cli_choices(emulated=True)
    assert registry.fmz_labels()["OKX"] is okx
    with pytest.raises(ConfigError, match=r"unknown venue 'nope'.*OKX"):
        registry.get("nope")


def test_okx_gateway_from_the_registry_with_env_credentials() -> None:
    okx = registry.get("OKX")
    env = {
        "TRADELOOP_OKX_API_KEY": "k-123456",
        "TRADELOOP_OKX_API_SECRET": "s-123456",
        "TRADELOOP_OKX_PASSPHRASE": "",
    }
    creds = okx.credentials_from({"passphrase": "p-123456"}, env)
    assert creds == {"api_key": "k-123456", "secret": "s-123456", "passphrase": "p-123456"}
    assert okx.missing_credentials({"api_key": "x"}) == [
        "TRADELOOP_OKX_API_SECRET",
        "TRADELOOP_OKX_PASSPHRASE",
    ]
    gw = okx.build(url="http://127.0.0.1:1", credentials=creds, inst_types=("SPOT",))
    assert isinstance(gw, OkxGateway) and gw.inst_types == ("SPOT",)
    assert gw.rest.credentials is not None and gw.ws_url == "ws://127.0.0.1:1/ws/v5"


def test_a_venue_is_added_without_touching_anything_else() -> None:
    spec = registry.VenueSpec(name="FAKE_X", gateway="tradeloop.venues.sim.client:create")
    try:
        registry.register(spec)
        assert registry.get("fake_x") is spec
    finally:
        registry._VENUES.pop("FAKE_X", None)
    with pytest.raises(ValueError):
        registry.register(registry.VenueSpec(name="lower", gateway="x:y"))


def test_importing_the_registry_imports_no_gateway_or_emulator() -> None:
    code = (
        "import sys, tradeloop.venues.registry as r; r.get('okx').emulator; "
        "print(sorted(m for m in sys.modules if m.startswith(('tradeloop.emulator', "
        "'tradeloop.venues.okx.gateway', 'tradeloop.venues.sim', 'tradeloop.engine', "
        "'tradeloop.fmz'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

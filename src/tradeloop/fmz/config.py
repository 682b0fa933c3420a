"""Bridge configuration from the command line and an optional TOML file.

File format (every key optional; command-line flags win)::

    host = "127.0.0.1"
    port = 6666
    token = "change-me"
    capture = "fmz-capture.jsonl"
    request_timeout = 10
    max_body = 65536
    body_timeout = 10       # headers -> whole body
    header_timeout = 10     # connect / first byte -> all headers
    idle_timeout = 60       # keep-alive connection without a request
    max_connections = 256   # lowered to fit the file-descriptor limit

    [venues.OKX]            # the label in the service address: http://127.0.0.1:6666/OKX
    kind = "OKX"            # adapter (defaults to the label)
    rest_url = "http://127.0.0.1:8100"
    ws_url = ""             # defaults to the REST host's /ws/v5
    markets_ttl = 300       # any other key is passed to the adapter
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.core.tomlfile import read_toml
from tradeloop.fmz.server import BridgeConfig
from tradeloop.fmz.venue import VenueSpec

DEFAULT_VENUES = {"OKX": "https://www.okx.com"}


def parse_venue_flag(text: str) -> tuple[str, str]:
    """``OKX=http://127.0.0.1:8100`` -> (``OKX``, url)."""
    label, sep, url = text.partition("=")
    label = label.strip().strip("/").upper()
    if not sep or not label or not url.strip().startswith(("http://", "https://")):
        raise ConfigError(f"--venue {text!r}: expected LABEL=http(s)://host:port")
    return label, url.strip()


def venue_specs(table: Mapping[str, Any], where: str) -> dict[str, VenueSpec]:
    out: dict[str, VenueSpec] = {}
    for label, spec in table.items():
        if isinstance(spec, str):
            spec = {"rest_url": spec}
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: [venues.{label}] must be a table or a URL string")
        opts = dict(spec)
        url = opts.pop("rest_url", None) or opts.pop("url", None)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f'{where}: [venues.{label}] needs rest_url = "http(s)://..."')
        kind = str(opts.pop("kind", label)).upper()
        ws_url = str(opts.pop("ws_url", ""))
        out[label.upper()] = VenueSpec(kind=kind, rest_url=url, ws_url=ws_url, options=opts)
    return out


#: the top-level keys of a bridge config file
FILE_KEYS = frozenset({
    "venues", "token", "capture", "max_body", "request_timeout", "body_timeout",
    "header_timeout", "idle_timeout", "max_connections", "host", "port",
})  # fmt: skip


def build_config(
    *,
    file: str | None,
    venue_flags: Sequence[str],
    token: str | None,
    capture: str | None,
) -> tuple[BridgeConfig, dict[str, Any]]:
    """Merge file and flags; returns the config and the file's top-level (host/port) values."""
    data: dict[str, Any] = read_toml(file) if file else {}
    where = file or "config"
    unknown = sorted(set(data) - FILE_KEYS)
    if unknown:  # a typo must not silently fall back to a default (``prot = 7000``)
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: "
                          f"{', '.join(sorted(FILE_KEYS))})")  # fmt: skip
    port = data.get("port", 6666)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"{where}: 'port' must be a port number 0-65535, got {port!r}")
    _opt_str(data, "host", where)
    venues: dict[str, str | VenueSpec] = {}
    table = data.get("venues", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: 'venues' must be a table")
    venues.update(venue_specs(table, where))
    for flag in venue_flags:
        label, url = parse_venue_flag(flag)
        venues[label] = url
    if not venues:
        venues = dict(DEFAULT_VENUES)
    cfg = BridgeConfig(
        venues=venues,
        token=token if token is not None else _opt_str(data, "token", where),
        capture=capture if capture is not None else _opt_str(data, "capture", where),
        max_body=int(_positive(data, "max_body", 64 * 1024, where)),
        request_timeout=_positive(data, "request_timeout", 10.0, where),
        body_timeout=_positive(data, "body_timeout", 10.0, where),
        header_timeout=_positive(data, "header_timeout", 10.0, where),
        idle_timeout=_positive(data, "idle_timeout", 60.0, where),
        max_connections=int(_positive(data, "max_connections", 256, where)),
    )
    return cfg, data


def _positive(data: Mapping[str, Any], key: str, default: float, where: str) -> float:
    v = data.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1e9:
        raise ConfigError(f"{where}: '{key}' must be a positive number, got {v!r}")
    return float(v)


def _opt_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise ConfigError(f"{where}: '{key}' must be a string")
    return v

"""The FMZ custom-protocol wire format: request parsing, parameter coercion, reply envelopes.

The docker POSTs ``{"access_key","secret_key","nonce","method","params"}`` and expects either
``{"data": ..., "raw": ...}`` or ``{"error": "..."}``, always with HTTP 200. Everything that can
go wrong with a body is turned into :class:`FmzError` here, so the server never has to guess how
to answer: an ``FmzError`` message is what the strategy's log shows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from tradeloop.model.instrument import plain_decimal

#: JSON scalars the docker may send as parameter values (the guide sends strings; B.2 numbers too).
Scalar = str | int | float | bool | None


class FmzError(Exception):
    """A problem the strategy sees as ``{"error": message}``: bad input or an upstream refusal."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """Keys as the docker sent them. ``secret`` may pack extras (``secret,passphrase[,simulate]``)
    which only the venue adapter knows how to split."""

    access_key: str
    secret_key: str

    @property
    def present(self) -> bool:
        return bool(self.access_key and self.secret_key)

    def __repr__(self) -> str:  # never print keys, even by accident in a debugger or log
        return "Credentials(***)"


@dataclass(frozen=True, slots=True)
class FmzRequest:
    """One decoded docker request. ``params`` keeps the raw JSON values; use :class:`Params`."""

    method: str
    params: Params
    creds: Credentials
    nonce: int | str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    """What a venue handler produced: ``data`` for the strategy, ``raw`` the exchange's reply."""

    data: Any
    raw: Any = None


_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def decode_request(body: bytes) -> FmzRequest:
    """Parse and validate a request body. Raises :class:`FmzError` with a message fit for a log."""
    if not body.strip():
        raise FmzError("empty request body: expected a JSON object")
    try:
        obj = _decoder.decode(body)
    except (msgspec.DecodeError, RecursionError, ValueError):
        raise FmzError("malformed JSON request body") from None
    if not isinstance(obj, dict):
        raise FmzError("request body must be a JSON object")
    method = obj.get("method")
    if not isinstance(method, str) or not method.strip():
        raise FmzError("missing or invalid field 'method' (a non-empty string)")
    raw_params = obj.get("params")
    if raw_params is None:
        raw_params = {}
    if not isinstance(raw_params, dict):
        raise FmzError("field 'params' must be a JSON object")
    ak, sk = obj.get("access_key", ""), obj.get("secret_key", "")
    if ak is None:
        ak = ""
    if sk is None:
        sk = ""
    if not isinstance(ak, str) or not isinstance(sk, str):
        raise FmzError("fields 'access_key' and 'secret_key' must be strings")
    nonce = obj.get("nonce")
    if not isinstance(nonce, int | str) or isinstance(nonce, bool):
        nonce = None
    extra = {k: v for k, v in obj.items() if k not in _KNOWN_KEYS}
    return FmzRequest(
        method=method.strip(),
        params=Params(raw_params),
        creds=Credentials(ak.strip(), sk.strip()),
        nonce=nonce,
        extra=extra,
    )


_KNOWN_KEYS = frozenset({"access_key", "secret_key", "nonce", "method", "params"})


class Params:
    """Typed access to ``params``: values arrive as strings (the guide) or numbers (B.2).

    Each getter names the parameter in its error so a strategy author sees exactly what was wrong.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw

    @property
    def raw(self) -> Mapping[str, Any]:
        return self._raw

    def has(self, name: str) -> bool:
        v = self._raw.get(name)
        return v is not None and v != ""

    def first_present(self, *names: str) -> str | None:
        """The first of ``names`` that has a value (for parameters with several spellings)."""
        for n in names:
            if self.has(n):
                return n
        return None

    def _scalar(self, name: str) -> Scalar:
        v = self._raw.get(name)
        if isinstance(v, dict | list):
            raise FmzError(f"param '{name}' must be a string or number, got {type(v).__name__}")
        return v

    def text(self, name: str, default: str | None = None) -> str:
        v = self._scalar(name)
        if v is None or v == "":
            if default is None:
                raise FmzError(f"missing param '{name}'")
            return default
        if isinstance(v, bool):
            raise FmzError(f"param '{name}' must be a string or number, got bool")
        return v.strip() if isinstance(v, str) else _num_text(v)

    def number(self, name: str, default: Decimal | None = None) -> Decimal:
        """A number as an exact :class:`Decimal` (strings are not routed through float).

        Strings must be plain ASCII decimal notation (:data:`NUMBER_RE`): ``Decimal()`` alone
        also takes ``'1_000'``, ``' 0.5 '``, ``'NaN'`` and digits of any script — ``'١'`` (an
        Arabic-Indic one) placed a real 1 BTC order. A number the docker did not mean to send
        is refused, never guessed."""
        v = self._scalar(name)
        if v is None or v == "":
            if default is None:
                raise FmzError(f"missing param '{name}'")
            return default
        if isinstance(v, bool):
            raise FmzError(f"param '{name}' must be a number, got bool")
        text = v if isinstance(v, str) else _num_text(v)
        if len(text) > 64:
            raise FmzError(f"param '{name}' is not a number: too long")
        if not NUMBER_RE.fullmatch(text):
            raise FmzError(
                f"param '{name}' is not a number: {text[:32]!r} (expected plain ASCII decimal "
                "such as 0.5, -1 or 1e-05: no spaces, no '_', no other digits)"
            )
        d = Decimal(text)
        if d and d.adjusted() > 30:  # also keeps int() below from building a gigantic integer
            raise FmzError(f"param '{name}' is out of range")
        if d and d.adjusted() < -30:
            raise FmzError(f"param '{name}' is out of range (too small)")
        return d

    def integer(
        self, name: str, default: int | None = None, lo: int | None = None, hi: int | None = None
    ) -> int:
        d = self.number(name, None if default is None else Decimal(default))
        if d != d.to_integral_value():
            raise FmzError(f"param '{name}' must be a whole number, got {plain_decimal(d)}")
        n = int(d)
        if lo is not None and n < lo:
            raise FmzError(f"param '{name}' must be >= {lo}, got {n}")
        if hi is not None and n > hi:
            raise FmzError(f"param '{name}' must be <= {hi}, got {n}")
        return n


#: The only accepted spelling of a number given as a string: optional sign, ASCII digits, an
#: optional fraction with digits on both sides of the dot, optional exponent. JSON numbers are
#: checked the same way after ``repr`` (so ``inf``/``nan`` are refused too).
NUMBER_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _num_text(v: int | float) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def ok(data: Any, raw: Any = None) -> dict[str, Any]:
    """Success envelope; ``raw`` is omitted when there is none (the guide makes it optional)."""
    return {"data": data} if raw is None else {"data": data, "raw": raw}


def err(message: str) -> dict[str, Any]:
    return {"error": message}


def encode(reply: Mapping[str, Any]) -> bytes:
    """Serialise a reply. If ``data``/``raw`` hold something unserialisable (a venue bug), answer
    an error rather than a broken body: the docker must always get valid JSON."""
    try:
        return _encoder.encode(reply)
    except (TypeError, ValueError, OverflowError) as exc:
        return _encoder.encode(
            err(f"internal error: reply not serialisable ({type(exc).__name__})")
        )

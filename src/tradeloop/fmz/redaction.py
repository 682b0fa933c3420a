"""Credentials out of everything the bridge writes down: logs, capture lines, error echoes.

Dockers send keys in every request body, and anyone can send the bridge anything. So masking is
*structural*: a value is hidden because of the name it sits under (any spelling: ``apiKey``,
``X-Api-Key``, ``ok-access-sign``, full-width letters ...), or because it equals one of the
request's own credentials — never because a regex happened to find where it ends. Text that
cannot be parsed is not masked at all; it is not written (see :mod:`.capture`).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from tradeloop.core.log import MIN_SECRET_LEN, REDACTED, redact_secrets, register_secret
from tradeloop.fmz.protocol import Credentials

#: a name containing one of these is a credential
_WORDS = (
    "secret",
    "passphrase",
    "password",
    "passwd",
    "token",
    "signature",
    "auth",
    "cookie",
    "credential",
    "apikey",
    "accesskey",
    "privatekey",
    "session",
)
#: ... and so is a name ending in one of these (``key``, ``sign``, ``x-pass`` ...)
_ENDINGS = ("key", "sign", "sig", "pass", "pwd")
_MAX_DEPTH = 32


def is_sensitive_name(name: object) -> bool:
    """True for any field/header/parameter name that may hold a credential.

    Compatibility-normalised (NFKC: full-width letters become ASCII), case-folded and reduced
    to letters and digits, so ``API_KEY``, ``api-key``, ``apiKey``, ``ａｐｉＫｅｙ`` and
    ``api\\u200bkey`` are the same name. Deliberately broad: a masked harmless field costs a
    little capture detail, a missed one leaks a key."""
    k = unicodedata.normalize("NFKC", str(name)).casefold()
    k = "".join(ch for ch in k if ch.isascii() and ch.isalnum())
    return any(w in k for w in _WORDS) or k.endswith(_ENDINGS)


def credential_parts(access_key: str, secret_key: str) -> set[str]:
    """Every string of a docker's credentials worth hiding: the key, the packed secret, and
    its parts (``secret,passphrase[,simulate]``; a passphrase may itself contain commas, so
    both the whole remainder and each comma-separated piece are included)."""
    out: set[str] = set()
    for value in (access_key, secret_key):
        v = value.strip()
        if not v:
            continue
        out.add(v)
        head, _, rest = v.partition(",")
        out.update((head, rest))
        if rest.lower().endswith(",simulate"):
            out.add(rest[: -len(",simulate")])
        out.update(v.split(","))
    return {p.strip() for p in out if p.strip() and p.strip().lower() != "simulate"}


def sensitive_values(value: Any, depth: int = 0) -> set[str]:
    """Every scalar found under a credential-looking name anywhere in a decoded body (e.g. an
    ``apiKey`` query parameter of ``__api_``). A capture line hides them wherever else they
    show up, such as a venue reply that echoes the query. They are not registered for log
    redaction: a remote party must not be able to blank arbitrary words out of the log (in
    logs, ``apiKey=...`` shapes are masked by :func:`tradeloop.core.log.redact`)."""
    out: set[str] = set()
    if depth > _MAX_DEPTH:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            if (
                is_sensitive_name(k)
                and isinstance(v, str | int | float)
                and not isinstance(v, bool)
            ):
                text = str(v).strip()
                if len(text) >= MIN_SECRET_LEN:
                    out.add(text)
            else:
                out |= sensitive_values(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            out |= sensitive_values(v, depth + 1)
    return out


def register_credentials(creds: Credentials) -> set[str]:
    """Register a request's credentials for log redaction (at decode, before any handler can
    log) and return them for scrubbing a capture line."""
    parts = credential_parts(creds.access_key, creds.secret_key)
    for p in parts:
        register_secret(p)
    return parts


def scrub(text: str, secrets: set[str] | frozenset[str] = frozenset()) -> str:
    """``text`` with the given secrets and every registered secret replaced by ``***``."""
    for s in sorted(secrets, key=len, reverse=True):
        if s and s in text:
            text = text.replace(s, REDACTED)
    return redact_secrets(text)


def redact_value(
    value: Any, secrets: set[str] | frozenset[str] = frozenset(), depth: int = 0
) -> Any:
    """A copy of a decoded JSON value fit for a log or capture line: every credential-named
    key's value masked (at any depth), every string (keys too) scrubbed of known secrets."""
    if depth > _MAX_DEPTH:
        return "<too deep>"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = scrub(str(k), secrets)
            if is_sensitive_name(k) and v not in ("", None):
                out[key] = REDACTED
            else:
                out[key] = redact_value(v, secrets, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets, depth + 1) for v in value]
    if isinstance(value, str):
        return scrub(value, secrets)
    return value

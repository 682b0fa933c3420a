"""Reading a TOML file a user wrote, with every way it can fail as one ConfigError line."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from tradeloop.core.errors import ConfigError


def read_toml(path: str | Path) -> dict[str, Any]:
    """The tables of the TOML file at ``path``; ConfigError naming the file when it cannot be
    read, is not UTF-8 text (a binary file given by mistake) or is not valid TOML."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a TOML file (not UTF-8 text at byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None

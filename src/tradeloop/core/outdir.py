"""Where a command will write, checked before it runs.

A backtest, a paper session or a sweep can run for minutes or hours; finding at the end that
``--out`` names a file or an unwritable place would lose every result. Commands check their
output folder first, and say so in one line.
"""

from __future__ import annotations

import os
from pathlib import Path

from tradeloop.core.errors import UserError


def writable_dir(path: str | os.PathLike[str], what: str = "--out") -> Path:
    """``path`` as a folder this process can write results into (its missing parents are
    created; the folder itself is left to the writer); UserError saying why not."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{what} {p}: exists and is not a folder")
    probe = p if p.is_dir() else p.parent
    try:
        probe.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{what} {p}: cannot create it ({exc.strerror or exc})") from None
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{what} {p}: {probe} is not writable")
    return p

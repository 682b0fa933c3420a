"""One FMZ adapter per venue (see :mod:`tradeloop.fmz.venue` for the contract)."""

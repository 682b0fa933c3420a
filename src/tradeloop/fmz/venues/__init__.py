"""Per-venue FMZ conventions (see :mod:`tradeloop.fmz.conventions`)."""

"""``python -m tradeloop ...``: the same command line as ``tradeloop ...``."""

from tradeloop.cli import main

raise SystemExit(main())

"""Binance spot connector: auth, constants, REST, book sync, WS (streams + WS API), orders,
gateway (instrument ids ``BTCUSDT.BINANCE``)."""

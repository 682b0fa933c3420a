"""FTX connector: the venue kit (REST/WS transport, rate limiter, order lifecycle) plus FTX's
wire knowledge, split as every venue folder is (auth, constants, rest, ws, parse, orders,
gateway)."""

"""FMZ custom-protocol bridge: serve FMZ dockers from tradeloop's venue connectors.

Layers, one module each: :mod:`.protocol` (wire format), :mod:`.symbols`, :mod:`.dispatch`
(methods and aliases), :mod:`.venue` (the adapter contract the dispatcher calls),
:mod:`.adapter` (the one adapter, over any registry venue's Gateway) with :mod:`.market` (the
keyless gateway: live books and quotes), :mod:`.keyed` (a gateway per docker key: orders,
balance cache) and :mod:`.shapes` (FMZ reply shapes); :mod:`.conventions` (what a venue adds:
symbols, keys, ``__api_``) and :mod:`.venues` (one conventions module per venue);
:mod:`.server` (aiohttp app and lifecycle), :mod:`.listen` (sockets, accept loop), :mod:`.conn`
(connection cap and deadlines), :mod:`.quietlog` (rate-limited, byte-free logs of peer
misbehaviour), :mod:`.redaction` and :mod:`.capture` (credentials out of logs and capture
files), :mod:`.config` and :mod:`.cli`. See docs/fmz.md for the request and reply shapes.
"""

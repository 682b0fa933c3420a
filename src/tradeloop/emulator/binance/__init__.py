"""The Binance front-end of the emulator (spot ``/api/v3``, market streams, WS API)."""

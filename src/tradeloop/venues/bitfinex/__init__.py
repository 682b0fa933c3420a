"""Bitfinex v2 connector: REST + one authenticated WebSocket for orders (channel 0)."""

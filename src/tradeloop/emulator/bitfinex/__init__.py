"""The Bitfinex v2 front-end: REST ``/v2`` and WebSocket ``/ws/2`` over the emulator core."""

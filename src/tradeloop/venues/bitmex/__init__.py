"""BitMEX connector (REST ``/api/v1`` + WebSocket ``/realtime``), inverse contracts included."""

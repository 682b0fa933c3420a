"""BitMEX front-end of the emulator (REST ``/api/v1`` + WS ``/realtime``)."""

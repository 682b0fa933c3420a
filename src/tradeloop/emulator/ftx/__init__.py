"""The FTX front-end: FTX's REST (``/api``) and WebSocket (``/ws/``) over the emulator core."""

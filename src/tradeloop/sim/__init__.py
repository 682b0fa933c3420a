"""The matching engine and account simulator shared by the backtester and the emulator."""

"""Event bus, clocks, timers, ids, errors and redacting logs."""

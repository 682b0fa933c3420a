"""Typing stub of the compiled SMA (``_cind.c``); see ``indicators.PySMA`` for the contract."""

class SMA:
    n: int
    value: float | None

    def __init__(self, n: int) -> None: ...
    def update(self, x: float) -> float | None: ...

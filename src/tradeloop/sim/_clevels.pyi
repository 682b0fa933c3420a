"""Typing stub of the compiled delta step (``_clevels.c``); the reference is
``tradeloop.sim.liquidity._apply_levels``."""

def apply_levels(
    side: dict[float, float],
    prices: list[float],
    taken: dict[float, float],
    levels: list[tuple[float, float]],
) -> bool: ...

"""Build hook for the optional compiled parts: the order-book side (``tradeloop.book._cbook``),
the SMA indicator (``tradeloop.engine._cind``) and the simulator's book deltas
(``tradeloop.sim._clevels``).

Everything else is configured in pyproject.toml. ``optional=True``: without a C compiler the
install still succeeds and ``tradeloop.book.orderbook`` falls back to its pure-Python side
(same behaviour, slower; ``tradeloop.book.orderbook.IMPLEMENTATION`` says which is in use), and
``tradeloop.engine.indicators`` to its pure-Python SMA (same numbers; ``SMA_IMPLEMENTATION``),
``tradeloop.sim.liquidity`` to its Python delta loop (``LEVELS_IMPLEMENTATION``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tradeloop.book._cbook",
            ["src/tradeloop/book/_cbook.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
        ),
        # the delta step of tradeloop.sim.liquidity.ExternalBook (a tick replay's book)
        Extension(
            "tradeloop.sim._clevels",
            ["src/tradeloop/sim/_clevels.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
        ),
        # the SMA of tradeloop.engine.indicators; no FMA contraction, so it rounds as Python
        Extension(
            "tradeloop.engine._cind",
            ["src/tradeloop/engine/_cind.c"],
            optional=True,
            extra_compile_args=[
                "-O2",
                "-Wall",
                "-Wextra",
                "-Wno-missing-field-initializers",
                "-ffp-contract=off",
            ],
        ),
    ]
)

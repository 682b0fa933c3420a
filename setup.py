"""Build hook for the optional compiled order-book side (``tradeloop.book._cbook``).

Everything else is configured in pyproject.toml. ``optional=True``: without a C compiler the
install still succeeds and ``tradeloop.book.orderbook`` falls back to its pure-Python side
(same behaviour, slower; ``tradeloop.book.orderbook.IMPLEMENTATION`` says which is in use).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tradeloop.book._cbook",
            ["src/tradeloop/book/_cbook.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
        )
    ]
)

"""Indicators behind the strategy API against numpy references written out here.

tradeloop's own SMA/EMA and talipp's indicators through the ``TA`` wrapper must give the
textbook values; the wrapper's purging must not change a single output (bounded memory, same
numbers); bars are fed as OHLCV to the indicators that need them.
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt
import pytest

from tradeloop.engine import indicators as ind
from tradeloop.engine.indicators import EMA, SMA
from tradeloop.engine.ta import TA
from tradeloop.model import Bar

F64 = npt.NDArray[np.float64]


def walk(n: int, seed: int = 3) -> F64:
    return 100.0 + np.cumsum(np.random.default_rng(seed).normal(0, 0.5, n))


def ref_sma(x: F64, n: int) -> F64:
    out = np.full(len(x), np.nan)
    c = np.convolve(x, np.ones(n) / n, mode="valid")
    out[n - 1 :] = c
    return out


def ref_ema(x: F64, n: int) -> F64:
    a = 2.0 / (n + 1)
    out = np.full(len(x), np.nan)
    out[n - 1] = x[:n].mean()
    for i in range(n, len(x)):
        out[i] = a * x[i] + (1 - a) * out[i - 1]
    return out


def ref_wilder(x: F64, n: int) -> F64:
    """Wilder's smoothing seeded with the first n values' mean."""
    out = np.full(len(x), np.nan)
    out[n - 1] = x[:n].mean()
    for i in range(n, len(x)):
        out[i] = (out[i - 1] * (n - 1) + x[i]) / n
    return out


def ref_rsi(x: F64, n: int) -> F64:
    d = np.diff(x)
    g, lo = ref_wilder(np.maximum(d, 0), n), ref_wilder(np.maximum(-d, 0), n)
    return np.r_[np.nan, 100 - 100 / (1 + g / lo)]


def feed(indicator: SMA | EMA | TA, xs: F64) -> F64:
    return np.array([np.nan if (v := indicator.update(float(x))) is None else v for x in xs])


@pytest.mark.parametrize("n", [1, 2, 7, 50])
def test_sma_matches_numpy(n: int) -> None:
    x = walk(3_000)
    got, want = feed(SMA(n), x), ref_sma(x, n)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[n - 1 :], want[n - 1 :], rtol=1e-12)


@pytest.mark.parametrize("n", [1, 3, 20, 200])
def test_ema_matches_numpy_and_talipp(n: int) -> None:
    x = walk(3_000)
    got, want = feed(EMA(n), x), ref_ema(x, n)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[n - 1 :], want[n - 1 :], rtol=1e-12)
    lib = feed(TA("EMA", n), x)
    np.testing.assert_allclose(lib[n - 1 :], got[n - 1 :], rtol=1e-9)


def test_talipp_rsi_converges_to_wilders_rsi() -> None:
    # talipp seeds the averages from period - 1 changes; Wilder from period. The seed's weight
    # decays as (13/14)^k, so after 600 bars the two agree to float noise.
    x = walk(2_000)
    got, want = feed(ind.RSI(14), x), ref_rsi(x, 14)
    np.testing.assert_allclose(got[600:], want[600:], rtol=1e-9)


def test_bollinger_bands_match_numpy() -> None:
    x = walk(1_000)
    bb = ind.BB(20, 2.0)
    rows = [bb.update(float(v)) for v in x]
    assert rows[18] is None and rows[19] is not None
    win = np.lib.stride_tricks.sliding_window_view(x, 20)
    mid, sd = win.mean(axis=1), win.std(axis=1)
    got = np.array([(r.lb, r.cb, r.ub) for r in rows[19:]])
    np.testing.assert_allclose(got[:, 1], mid, rtol=1e-9)
    np.testing.assert_allclose(got[:, 0], mid - 2 * sd, rtol=1e-9)
    np.testing.assert_allclose(got[:, 2], mid + 2 * sd, rtol=1e-9)


def test_atr_is_fed_bars_and_matches_numpy() -> None:
    rng = np.random.default_rng(5)
    c = walk(1_500)
    o = np.r_[c[0], c[:-1]]
    h = np.maximum(o, c) + rng.uniform(0, 1, len(c))
    lo = np.minimum(o, c) - rng.uniform(0, 1, len(c))
    atr = ind.ATR(14)
    got = []
    for i in range(len(c)):
        bar = Bar((i + 1) * 60, "X", i * 60, o[i], h[i], lo[i], c[i], 1.0)
        v = atr.update(bar)
        got.append(np.nan if v is None else v)
    prev = np.r_[np.nan, c[:-1]]
    tr = np.nanmax(np.c_[h - lo, np.abs(h - prev), np.abs(lo - prev)], axis=1)
    np.testing.assert_allclose(np.array(got)[13:], ref_wilder(tr, 14)[13:], rtol=1e-9)
    with pytest.raises(TypeError, match="needs bars"):
        atr.update(1.0)


def test_purging_keeps_memory_bounded_and_values_identical() -> None:
    x = walk(5_000)
    small, big = TA("RSI", 14, history=64), TA("RSI", 14, history=100_000)
    a, b = feed(small, x), feed(big, x)
    np.testing.assert_array_equal(a, b)
    assert len(small.indicator.input_values) < 2 * 64
    assert len(small.indicator.output_values) < 2 * 64


def test_a_close_goes_to_float_indicators_when_given_a_bar() -> None:
    sma = TA("SMA", 2)
    for i, px in enumerate((10.0, 20.0)):
        sma.update(Bar(i + 1, "X", i, 0.0, 99.0, 0.0, px, 1.0))
    assert sma.value == 15.0


def test_unknown_indicator_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no indicator 'NOPE'"):
        ind.NOPE  # noqa: B018
    with pytest.raises(ValueError, match="period"):
        EMA(0)


# -- the compiled SMA against the Python one ------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _compiled_sma() -> type:
    if ind.CSMA is None:
        if os.environ.get("TRADELOOP_REQUIRE_CEXT"):
            pytest.fail("tradeloop.engine._cind is not built but TRADELOOP_REQUIRE_CEXT is set")
        pytest.skip("tradeloop.engine._cind not built (no C compiler at install time)")
    return ind.CSMA  # type: ignore[no-any-return]


def _bits(v: float | None) -> str | None:
    return None if v is None else v.hex() if v == v else "nan"


def _outputs(sma: object, xs: list[float]) -> list[object]:
    out: list[object] = []
    for x in xs:
        try:
            v = sma.update(x)  # type: ignore[attr-defined]
        except (ValueError, OverflowError) as exc:  # fsum's refusals (inf - inf, overflow)
            out.append(type(exc))
            continue
        out.append(_bits(v))
        out.append(_bits(sma.value))  # type: ignore[attr-defined]
    return out


_value = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e6, 1e6),
    st.floats(-1e308, 1e308),
    st.integers(-(2**60), 2**60),
)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 12), xs=st.lists(_value, max_size=60))
def test_compiled_sma_gives_the_python_smas_bits(n: int, xs: list[float]) -> None:
    csma = _compiled_sma()
    assert _outputs(csma(n), xs) == _outputs(ind.PySMA(n), xs)


def test_compiled_sma_on_a_long_walk_and_its_refusals() -> None:
    csma = _compiled_sma()
    xs = [float(v) for v in walk(20_000)]
    for n in (1, 5, 50):
        assert _outputs(csma(n), xs) == _outputs(ind.PySMA(n), xs)
    with pytest.raises(ValueError, match="period"):
        csma(0)
    with pytest.raises(TypeError):
        csma(3).update("1.0")
    assert ind.SMA is csma and ind.SMA_IMPLEMENTATION == "c"

"""Min/max bucket downsampling keeps extremes; even thinning keeps ends."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tradeloop.report.downsample import even_indices, minmax_indices


def test_short_series_untouched() -> None:
    assert minmax_indices(np.arange(10.0), 4000).tolist() == list(range(10))


def test_single_point_dip_survives() -> None:
    y = np.ones(1_000_003)
    y[654_321] = -5.0  # a one-bar crash that striding would skip
    y[123_457] = 9.0
    idx = minmax_indices(y, 4000)
    assert len(idx) <= 4000
    assert 654_321 in idx and 123_457 in idx
    assert idx[0] == 0 and idx[-1] == len(y) - 1


def test_nan_never_wins_a_bucket() -> None:
    y = np.linspace(0, 1, 10_000)
    y[::3] = np.nan
    idx = minmax_indices(y, 100)
    assert np.isfinite(y[idx[1:-1]]).all()


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 3000), elements=st.floats(-1e6, 1e6)),
    st.integers(4, 500),
)
def test_properties(y: np.ndarray, max_points: int) -> None:
    idx = minmax_indices(y, max_points)
    assert len(idx) <= max(max_points, 4)
    assert (np.diff(idx) > 0).all()  # sorted, unique
    assert y[idx].min() == y.min() and y[idx].max() == y.max()
    assert idx[0] == 0 and idx[-1] == len(y) - 1


def test_even_indices() -> None:
    assert even_indices(5, 10).tolist() == [0, 1, 2, 3, 4]
    idx = even_indices(10_001, 2000)
    assert len(idx) == 2000 and idx[0] == 0 and idx[-1] == 10_000
    assert even_indices(5, 0).tolist() == []

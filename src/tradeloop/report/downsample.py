"""Shrinking long series for charts without hiding what matters.

A browser cannot draw a million points per trace, but naive striding (every k-th point) can
skip straight over a flash crash or the bottom of a drawdown. ``minmax_indices`` splits the
series into equal-count buckets and keeps, per bucket, the positions of the minimum and the
maximum (in time order), plus the first and last points: every extreme the eye would see on a
full-resolution chart is still there.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def minmax_indices(y: npt.ArrayLike, max_points: int = 4000) -> npt.NDArray[np.intp]:
    """Sorted indices into ``y`` (at most ``max_points``, >= 4) that keep each bucket's extremes.

    NaNs never win a bucket unless the whole bucket is NaN. Series already short enough are
    returned whole.
    """
    a = np.asarray(y, dtype=np.float64)
    n = len(a)
    max_points = max(4, int(max_points))
    if n <= max_points:
        return np.arange(n, dtype=np.intp)
    buckets = (max_points - 2) // 2
    size = -(-n // buckets)  # ceil: at most `buckets` buckets
    nan = np.isnan(a)
    lo = np.where(nan, np.inf, a)
    hi = np.where(nan, -np.inf, a)
    full = (n // size) * size
    starts = np.arange(0, full, size, dtype=np.intp)
    parts = [
        np.array([0, n - 1], dtype=np.intp),
        starts + np.argmin(lo[:full].reshape(-1, size), axis=1),
        starts + np.argmax(hi[:full].reshape(-1, size), axis=1),
    ]
    if full < n:  # ragged last bucket
        parts.append(np.array([full + np.argmin(lo[full:]), full + np.argmax(hi[full:])]))
    return np.unique(np.concatenate(parts))


def even_indices(n: int, max_points: int) -> npt.NDArray[np.intp]:
    """At most ``max_points`` indices spread evenly over ``range(n)``, first and last included.

    Used for markers (fills), where every mark is equally important and extremes mean nothing.
    """
    if n <= max_points:
        return np.arange(n, dtype=np.intp)
    if max_points <= 0:
        return np.zeros(0, dtype=np.intp)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.intp))

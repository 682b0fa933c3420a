"""Whatever is in a file, the loaders either load it or raise a one-line DataError."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeloop.core.errors import DataError
from tradeloop.data import load_bars, load_trades

ATOMS = [
    "1",
    "0",
    "-1",
    "nan",
    "inf",
    "1e300",
    "abc",
    "",
    " ",
    "True",
    "2024-01-01",
    "1704067200000",
    '"x"',
    "null",
    "1.5",
    "[",
    "{",
    "]",
    "}",
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "price",
    "qty",
    "side",
    "buy",
    "date",
    "sell",
]
SEPARATORS = [",", "\n", "", " "]
HEADERS = ["", "timestamp,open,high,low,close,volume\n", "ts,price,qty,side\n"]

csv_text = st.builds(
    lambda header, parts: header + "".join(a + s for a, s in parts),
    st.sampled_from(HEADERS),
    st.lists(st.tuples(st.sampled_from(ATOMS), st.sampled_from(SEPARATORS)), max_size=40),
)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False),
    st.sampled_from(["a", "buy", "sell", "2024-01-01", "1704067200000", ""]),
)
json_value = st.one_of(
    json_scalar,
    st.lists(json_scalar, max_size=2),
    st.dictionaries(st.sampled_from(["a"]), json_scalar, max_size=1),
)
json_rows = st.integers(min_value=1, max_value=8).flatmap(
    lambda w: st.lists(st.lists(json_value, min_size=w, max_size=w), min_size=1, max_size=4)
)
json_columns = st.dictionaries(
    st.sampled_from(["date", "open", "high", "low", "close", "volume", "price", "qty", "side"]),
    st.lists(json_value, min_size=2, max_size=2),
    min_size=1,
)
content = st.one_of(
    st.tuples(st.just(".csv"), csv_text),
    st.tuples(st.just(".json"), json_rows.map(json.dumps)),
    st.tuples(st.just(".json"), json_columns.map(json.dumps)),
    st.tuples(st.sampled_from([".parquet", ".feather", ".json.gz"]), st.text(max_size=30)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=content, gz=st.booleans())
def test_loaders_never_raise_anything_but_data_error(item: tuple[str, str], gz: bool) -> None:
    ext, text = item
    with tempfile.TemporaryDirectory() as tmp:
        if gz and ext in (".csv", ".json"):
            path = Path(tmp) / f"f{ext}.gz"
            with gzip.open(path, "wt") as fh:
                fh.write(text)
        else:
            path = Path(tmp) / f"f{ext}"
            path.write_text(text)
        for load in (load_bars, load_trades):
            try:
                load(path)
            except DataError as exc:
                msg = str(exc)
                assert "\n" not in msg, msg
                assert str(path) in msg, msg

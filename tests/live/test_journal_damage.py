"""A journal with a damaged page is refused at open, in one line, and left as it is: before,
only a bad header was caught and a damaged page surfaced as a traceback from the first query
of a start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.live.journal import Journal


def test_a_damaged_page_is_one_line_and_the_file_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    for i in range(2000):
        j.set_meta(f"k{i}", "v" * 200)
    j.close()
    data = bytearray(path.read_bytes())
    data[4100:4114] = b"GARBAGEGARBAGE"  # inside page 2
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigError) as err:
        Journal(path)
    text = str(err.value)
    assert "damaged" in text and str(path) in text and "\n" not in text
    assert path.read_bytes() == bytes(data)

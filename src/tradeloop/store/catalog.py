"""The DuckDB catalog over the store.

Why views over an explicit file list rather than a glob: the folder may hold ``.tmp`` files of
a writer that is running (or was killed) and flush parts a compaction already holds; only
:func:`tradeloop.store.schema.live_files` knows which files count. Each channel is one view
(``trades``, ``quotes``, ``book``, ``bars``, ``status`` ...) with the partition keys ``venue``,
``channel``, ``instrument`` and ``date`` as columns, so a query reads like
``SELECT * FROM trades WHERE instrument = 'BTC-USDT' AND date = '2024-01-02'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tradeloop.core.errors import UserError
from tradeloop.store import schema as S


def connect(root: Path) -> Any:
    """An in-memory DuckDB connection with one view per channel present in the store."""
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - an optional extra
        raise UserError("the data catalog needs duckdb: pip install 'tradeloop[store]'") from exc
    con = duckdb.connect()
    by_channel: dict[str, list[str]] = {}
    for f in S.all_files(root):
        ch = next((p[8:] for p in f.parts if p.startswith("channel=")), "")
        by_channel.setdefault(ch, []).append(str(f))
    for ch in S.CHANNELS:
        files = by_channel.get(ch)
        if files:
            lst = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(
                f"CREATE VIEW {ch} AS SELECT * FROM read_parquet([{lst}], "
                "hive_partitioning = true, union_by_name = true)"
            )
        else:
            cols = ", ".join(f"NULL::{_duck(f.type)} AS {f.name}" for f in S.SCHEMAS[ch])
            con.execute(
                f"CREATE VIEW {ch} AS SELECT {cols}, NULL::VARCHAR AS venue, "
                "NULL::VARCHAR AS channel, NULL::VARCHAR AS instrument, NULL::VARCHAR AS date "
                "WHERE false"
            )
    return con


def _duck(t: Any) -> str:
    return {"int64": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN", "int8": "TINYINT"}.get(
        str(t), "VARCHAR"
    )


def summary(root: Path) -> list[tuple[Any, ...]]:
    """(venue, channel, instrument, rows, first, last, dates) per stream."""
    con = connect(root)
    parts = [
        f"SELECT venue, '{ch}' AS channel, instrument, count(*) AS n, min(ts_recv) AS t0, "
        f"max(ts_recv) AS t1, count(DISTINCT date) AS days FROM {ch} GROUP BY ALL"
        for ch in S.CHANNELS
    ]
    sql = " UNION ALL ".join(parts) + " ORDER BY 1, 2, 3"
    return list(con.execute(sql).fetchall())


def query(root: Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    con = connect(root)
    try:
        cur = con.execute(sql)
    except Exception as exc:  # duckdb's errors share no importable base we can rely on
        raise UserError(f"query failed: {str(exc).splitlines()[0]}") from exc
    cols = [d[0] for d in cur.description or []]
    return cols, list(cur.fetchall())

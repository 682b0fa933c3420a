"""Market data store: recorder, Parquet layout, DuckDB catalog, importers, tick replay."""

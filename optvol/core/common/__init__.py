"""Building blocks both pipelines use: errors, paths and storage of the data root,
atomic writes, Parquet files and month partitions, model files, typed JSON files with a
format version, input files and CSV streaming, provenance, data summaries, the generic data
checks, retry delays and memory."""

__all__ = [
    "atomic",
    "cleaning",
    "csv_stream",
    "data_summary",
    "errors",
    "input_files",
    "memory",
    "model_files",
    "parquet",
    "partitioned",
    "paths",
    "provenance",
    "retry",
    "row_chunks",
    "storage",
    "threads",
    "validation",
    "versioned_json",
]

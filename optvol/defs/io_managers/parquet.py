"""Tables as Parquet files (pyarrow) under the artifact root, a partitioned table (the
quote months) as a directory of one ``<partition key>.parquet`` per partition; see
:class:`ParquetIOManager`."""

import gc
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa

from optvol.core.common.atomic import atomic_group
from optvol.core.common.parquet import (
    read_as_written,
    read_frame,
    read_partition_tables,
    read_partitions,
    read_table,
    schema_difference,
    write_parquet,
    write_parquet_file,
)
from optvol.core.common.partitioned import LazyTables
from optvol.core.common.storage import (
    ArtifactPath,
    exists,
    explained_errors,
    file_names,
    size_of,
)
from optvol.core.common.threads import in_order_on_threads
from optvol.defs.io_managers.base import (
    PREVIEW_ROWS,
    ArtifactIOManager,
    asset_name,
    preview_markdown,
    require_artifact,
    table_schema,
)

# Partitions produced and written at once: Arrow and pandas release the GIL for most of
# the work, so two months overlap on two cores (the full-size backfill's writes take
# about 40% less time) while at most two months are in memory.
WRITE_THREADS = 2
PARQUET_SUFFIX = ".parquet"


@dataclass
class _WrittenPartition:
    key: str
    rows: int
    bytes: int
    schema: pa.Schema
    pandas_types: dict[str, str] | None
    preview: pd.DataFrame


class ParquetIOManager(ArtifactIOManager):
    """Parquet files (pyarrow) at the docs/architecture.md §2 paths under ``root``.

    Handles pandas DataFrames and Arrow tables; an input annotated ``pa.Table`` loads as
    Arrow, anything else as pandas.

    A partitioned asset is the directory of its path without ``.parquet``, holding one
    ``<partition key>.parquet`` per partition. A run of one partition may return a table;
    a run of several returns a mapping of exactly its partition keys to tables (a
    :class:`~optvol.core.common.partitioned.LazyTables` is produced and written at most
    ``WRITE_THREADS`` (two) partitions at a time, in order, so at most two are in
    memory). Nothing is replaced until every partition is written. An
    input annotated ``LazyTables`` receives the partitions read on access (each as it was
    written: pandas frame or Arrow table); any other input their concatenation in key
    order, skipping partitions that have no file.
    """

    def path_for(self, asset_key: dg.AssetKey) -> ArtifactPath:
        return self.artifact_path(asset_key, PARQUET_SUFFIX)

    def partitions_dir(self, asset_key: dg.AssetKey) -> ArtifactPath:
        """The directory of a partitioned asset: its path without ``.parquet``."""
        return self.path_for(asset_key).with_suffix("")

    def partition_path(self, asset_key: dg.AssetKey, partition_key: str) -> ArtifactPath:
        """The file of one partition; a key that cannot name a file is refused."""
        _check_partition_key(partition_key)
        return self.partitions_dir(asset_key) / f"{partition_key}{PARQUET_SUFFIX}"

    def write(self, context: dg.OutputContext, obj) -> None:
        if context.has_asset_partitions:
            self._write_partitions(context, obj)
        else:
            self._write_table(context, obj)

    def _write_table(self, context: dg.OutputContext, obj: pd.DataFrame | pa.Table) -> None:
        path = self.path_for(context.asset_key)
        table = write_parquet(obj, path)
        if isinstance(obj, pd.DataFrame):
            pandas_types = {name: str(dtype) for name, dtype in obj.dtypes.items()}
            preview = obj.head(PREVIEW_ROWS)
        else:
            pandas_types, preview = None, obj.slice(0, PREVIEW_ROWS).to_pandas()
        size = size_of(path)
        context.add_output_metadata(
            {
                "dagster/row_count": dg.MetadataValue.int(table.num_rows),
                "dagster/column_schema": table_schema(table.schema, pandas_types),
                "path": dg.MetadataValue.path(str(path)),
                "bytes": dg.MetadataValue.int(size),
                "preview": dg.MetadataValue.md(preview_markdown(preview)),
            }
        )
        context.log.info("Wrote %d rows to %s (%d bytes)", table.num_rows, path, size)

    def _write_partitions(self, context: dg.OutputContext, obj) -> None:
        keys = list(context.asset_partition_keys)
        tables = _tables_by_partition(obj, keys, context.asset_key)
        written: list[_WrittenPartition] = []
        with atomic_group() as stage:
            staged = {key: stage(self.partition_path(context.asset_key, key)) for key in keys}

            def produce_and_write(key: str) -> _WrittenPartition:
                # tables[key] is produced here and freed when the helper returns.
                return _write_partition(staged[key], key, tables[key])

            # Garbage already unreachable is collected on this thread first: a cycle that
            # holds a Dagster instance's SQLite connection must not be finalized on a
            # cleaning thread, where SQLite refuses it with a traceback in the log. Once per
            # write (about 0.2 s), not per file read.
            gc.collect()
            # A month's producer (its cleaning) logs through context.log and optvol's
            # loggers: the lines reach the event log from this thread, in month order.
            parts = in_order_on_threads(
                keys, produce_and_write, WRITE_THREADS, hold_loggers=(context.log,)
            )
            for part in parts:
                if written and (difference := schema_difference(written[0].schema, part.schema)):
                    raise ValueError(
                        f"partition {part.key} of asset {asset_name(context.asset_key)!r} does "
                        f"not have the columns of partition {written[0].key}: {difference}; "
                        "no partition was written"
                    )
                written.append(part)
                context.log.info(
                    "Staged partition %s: %d rows, %d bytes", part.key, part.rows, part.bytes
                )
        directory = self.partitions_dir(context.asset_key)
        context.add_output_metadata(_partitions_metadata(written, directory))
        context.log.info(
            "Wrote %d partitions (%d rows, %d bytes) to %s",
            len(written),
            sum(p.rows for p in written),
            sum(p.bytes for p in written),
            directory,
        )

    def read(self, context: dg.InputContext) -> pd.DataFrame | pa.Table | LazyTables:
        wanted = context.dagster_type.typing_type
        if not context.has_asset_partitions:
            path = self.path_for(context.asset_key)
            require_artifact(path, context.asset_key)
            return read_table(path) if wanted is pa.Table else read_frame(path)
        keys = list(context.asset_partition_keys)
        if isinstance(wanted, type) and issubclass(wanted, LazyTables):
            read = partial(self._read_partition, context.asset_key)
            return LazyTables({key: partial(read, key) for key in keys})
        paths = self._existing_partitions(context, keys)
        return read_partition_tables(paths) if wanted is pa.Table else read_partitions(paths)

    def _read_partition(self, asset_key: dg.AssetKey, key: str) -> pd.DataFrame | pa.Table:
        path = self.partition_path(asset_key, key)
        with explained_errors(path):
            if not exists(path):
                raise FileNotFoundError(
                    f"{path} does not exist: materialize partition {key} of asset "
                    f"{asset_name(asset_key)!r} first"
                )
            return read_as_written(path)

    def _existing_partitions(self, context: dg.InputContext, keys: list[str]) -> list:
        """The files of the partitions ``keys`` that exist, in key order; the others are
        logged. Raises FileNotFoundError when none exists."""
        directory = self.partitions_dir(context.asset_key)
        present = file_names(directory)
        found = [key for key in keys if f"{key}{PARQUET_SUFFIX}" in present]
        skipped = [key for key in keys if f"{key}{PARQUET_SUFFIX}" not in present]
        name = asset_name(context.asset_key)
        if not found:
            raise FileNotFoundError(
                f"{directory} holds none of the {len(keys)} partitions "
                f"{_key_span(keys)} of asset {name!r}: materialize asset {name!r} first"
            )
        if skipped:
            context.log.info(
                "Reading %d partitions of %s; %d have no file (skipped): %s",
                len(found),
                name,
                len(skipped),
                ", ".join(skipped),
            )
        return [self.partition_path(context.asset_key, key) for key in found]


def _check_partition_key(key: str) -> None:
    if not key or key in (".", "..") or any(c in key for c in "/\\\0"):
        raise ValueError(f"partition key {key!r} cannot name a file")


def _key_span(keys: list[str]) -> str:
    return f"{keys[0]}..{keys[-1]}" if keys else "(none)"


def _tables_by_partition(obj, keys: list[str], asset_key: dg.AssetKey) -> Mapping:
    """``obj`` as a mapping of the run's partition keys ``keys`` to tables."""
    name = asset_name(asset_key)
    if isinstance(obj, Mapping):
        missing = [key for key in keys if key not in obj]
        extra = [key for key in obj if key not in set(keys)]
        if missing or extra:
            raise ValueError(
                f"asset {name!r}: the run materializes partitions {keys}, but the output "
                f"maps {list(obj)}: missing {missing}, unexpected {extra}; "
                "nothing was written"
            )
        return obj
    if len(keys) == 1:
        return {keys[0]: obj}
    raise TypeError(
        f"asset {name!r}: a run of {len(keys)} partitions ({_key_span(keys)}) returns a "
        f"mapping of partition key to table (a dict or LazyTables), not "
        f"{type(obj).__name__}; nothing was written"
    )


def _write_partition(path: Path, key: str, data: pd.DataFrame | pa.Table) -> _WrittenPartition:
    table = write_parquet_file(data, path)
    if isinstance(data, pd.DataFrame):
        pandas_types = {name: str(dtype) for name, dtype in data.dtypes.items()}
        preview = data.head(PREVIEW_ROWS).copy()  # a copy: no view keeps `data` alive
    else:
        pandas_types, preview = None, table.slice(0, PREVIEW_ROWS).to_pandas()
    return _WrittenPartition(
        key, table.num_rows, path.stat().st_size, table.schema, pandas_types, preview
    )


def _partitions_metadata(
    written: list[_WrittenPartition], directory: ArtifactPath
) -> dict[str, dg.MetadataValue]:
    rows = sum(part.rows for part in written)
    per_partition = pd.DataFrame(
        {
            "partition": [p.key for p in written],
            "rows": [p.rows for p in written],
            "bytes": [p.bytes for p in written],
        }
    )
    first = written[0]
    metadata = {
        "total_rows": dg.MetadataValue.int(rows),
        "partition_rows": dg.MetadataValue.md(per_partition.to_markdown(index=False)),
        "dagster/column_schema": table_schema(first.schema, first.pandas_types),
        "path": dg.MetadataValue.path(str(directory)),
        "bytes": dg.MetadataValue.int(sum(part.bytes for part in written)),
        "preview": dg.MetadataValue.md(preview_markdown(first.preview)),
    }
    if len(written) == 1:  # a run of several shows every partition the same metadata
        metadata["dagster/row_count"] = dg.MetadataValue.int(rows)
    return metadata

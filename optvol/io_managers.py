"""Persistence of assets under the data root (DESIGN §2): tables as Parquet, models
in their own safe formats, metrics as JSON.

Writes are atomic (temp file + rename): a failed run never leaves a torn file, and the
last good artifact stays. Each write attaches the metadata a person opens the asset page
for: rows, schema, path, size and a preview.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from optvol.core.atomic import atomic_open
from optvol.core.parquet import read_frame, write_parquet
from optvol.core.paths import ARTIFACT_PATHS, data_root

PREVIEW_ROWS = 5


def table_schema(table: pa.Table, pandas_types: dict[str, str] | None = None) -> dg.TableSchema:
    types = pandas_types or {f.name: str(f.type) for f in table.schema}
    return dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in types.items()])


def _preview(frame: pd.DataFrame) -> str:
    return frame.head(PREVIEW_ROWS).to_markdown(index=False) if len(frame) else "(empty)"


class ParquetIOManager(dg.ConfigurableIOManager):
    """Parquet files (pyarrow) at the DESIGN §2 paths under ``root``.

    ``root`` defaults to ``$OPTVOL_DATA_DIR``, else ``./data``. Handles pandas
    DataFrames and Arrow tables; an input annotated ``pa.Table`` loads as Arrow, anything
    else as pandas.
    """

    root: str | None = None

    def path_for(self, asset_key: dg.AssetKey) -> Path:
        return _artifact_path(self.root, asset_key, ".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | pa.Table) -> None:
        path = self.path_for(context.asset_key)
        table = write_parquet(obj, path)
        if isinstance(obj, pd.DataFrame):
            pandas_types = {name: str(dtype) for name, dtype in obj.dtypes.items()}
            preview = obj.head(PREVIEW_ROWS)
        else:
            pandas_types, preview = None, obj.slice(0, PREVIEW_ROWS).to_pandas()
        size = path.stat().st_size
        context.add_output_metadata(
            {
                "dagster/row_count": dg.MetadataValue.int(table.num_rows),
                "dagster/column_schema": table_schema(table, pandas_types),
                "path": dg.MetadataValue.path(str(path)),
                "bytes": dg.MetadataValue.int(size),
                "preview": dg.MetadataValue.md(_preview(preview)),
            }
        )
        context.log.info("Wrote %d rows to %s (%d bytes)", table.num_rows, path, size)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | pa.Table:
        path = self.path_for(context.asset_key)
        _require(path, context.asset_key)
        if context.dagster_type.typing_type is pa.Table:
            return pq.read_table(path)
        return read_frame(path)


def _artifact_path(root: str | None, asset_key: dg.AssetKey, suffix: str) -> Path:
    name = asset_key.path[-1]
    relative = ARTIFACT_PATHS.get(name, f"assets/{'/'.join(asset_key.path)}{suffix}")
    return data_root(root) / relative


def _require(path: Path, asset_key: dg.AssetKey) -> None:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: materialize asset {asset_key.to_user_string()!r} first"
        )


class ModelIOManager(dg.ConfigurableIOManager):
    """Trained models as their own safe files at the DESIGN §2 paths under ``root``.

    A model object provides ``save(stem)`` returning the paths it wrote (atomically), and
    its class a ``load(stem)``; the class comes from the input's type annotation. The
    metadata gives each file's path and size.
    """

    root: str | None = None

    def stem_for(self, asset_key: dg.AssetKey) -> Path:
        return _artifact_path(self.root, asset_key, ".model").with_suffix("")

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        paths = obj.save(self.stem_for(context.asset_key))
        metadata = {}
        for path in paths:
            kind = path.suffix.lstrip(".")
            metadata[f"{kind}_path"] = dg.MetadataValue.path(str(path))
            metadata[f"{kind}_bytes"] = dg.MetadataValue.int(path.stat().st_size)
            context.log.info("Wrote %s (%d bytes)", path, path.stat().st_size)
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext):
        model_class = context.dagster_type.typing_type
        if not hasattr(model_class, "load"):
            raise TypeError(
                f"annotate the input {context.name!r} with the model class to load "
                f"(one with a load(stem) classmethod), not {model_class!r}"
            )
        return model_class.load(self.stem_for(context.asset_key))


class JsonIOManager(dg.ConfigurableIOManager):
    """JSON documents (metrics) at the DESIGN §2 paths under ``root``, written atomically."""

    root: str | None = None

    def path_for(self, asset_key: dg.AssetKey) -> Path:
        return _artifact_path(self.root, asset_key, ".json")

    def handle_output(self, context: dg.OutputContext, obj: dict) -> None:
        path = self.path_for(context.asset_key)
        text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False)
        with atomic_open(path) as handle:
            handle.write(text.encode())
        context.add_output_metadata(
            {"path": dg.MetadataValue.path(str(path)), "bytes": dg.MetadataValue.int(len(text))}
        )
        context.log.info("Wrote %s (%d bytes)", path, len(text))

    def load_input(self, context: dg.InputContext) -> dict:
        path = self.path_for(context.asset_key)
        _require(path, context.asset_key)
        return json.loads(path.read_text())

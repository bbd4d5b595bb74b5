"""What optvol's IO managers share: the artifact root, each asset's path under it
(docs/architecture.md §2), and the metadata helpers.

The root is a local directory or a URL such as ``s3://bucket/prefix`` (universal_pathlib;
see :mod:`optvol.core.common.storage`). Writes are atomic: a local file is a temp file
renamed into place, a remote object one upload of a complete file, so a failed run never
leaves a torn artifact and the last good one stays. Each write attaches the metadata a
person opens the asset page for: rows, schema, path (the URL for a remote object), size
and a preview.
"""

from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
from pydantic import Field

from optvol.core.common.paths import ARTIFACT_PATHS
from optvol.core.common.storage import ArtifactPath, artifact_root, exists, explained_errors

PREVIEW_ROWS = 5


def table_schema(schema: pa.Schema, pandas_types: dict[str, str] | None = None) -> dg.TableSchema:
    """The column schema of a table: its pandas dtypes where known, else its Arrow types."""
    types = pandas_types or {f.name: str(f.type) for f in schema}
    return dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in types.items()])


def preview_markdown(frame: pd.DataFrame) -> str:
    """The first rows of ``frame`` as a markdown table."""
    return frame.head(PREVIEW_ROWS).to_markdown(index=False) if len(frame) else "(empty)"


def asset_name(asset_key: dg.AssetKey) -> str:
    """The asset's key as the UI writes it."""
    return asset_key.to_user_string()


def require_artifact(path: ArtifactPath, asset_key: dg.AssetKey) -> None:
    """Raise FileNotFoundError, naming the asset to materialize, when ``path`` is absent."""
    if not exists(path):
        raise FileNotFoundError(
            f"{path} does not exist: materialize asset {asset_name(asset_key)!r} first"
        )


class ArtifactIOManager(dg.ConfigurableIOManager):
    """What the optvol IO managers share: the root and where each asset's artifact is."""

    root: str | None = Field(
        default=None,
        description="Local directory or URL (s3://bucket/prefix, memory://..., file://...) "
        "of the artifacts; default $OPTVOL_ARTIFACT_ROOT, else the data root.",
    )
    storage_options: dict[str, Any] | None = Field(
        default=None,
        description="Options of the root's filesystem (s3fs: endpoint_url, key, secret, "
        "client_kwargs, config_kwargs, ...); unset, s3fs reads the AWS_* environment.",
    )

    def root_path(self) -> ArtifactPath:
        """The root: local Path or remote UPath (see
        :func:`~optvol.core.common.storage.artifact_root`)."""
        return artifact_root(self.root, self.storage_options)

    def artifact_path(self, asset_key: dg.AssetKey, suffix: str) -> ArtifactPath:
        """The docs/architecture.md §2 path of the asset, else ``assets/<key path><suffix>``."""
        name = asset_key.path[-1]
        relative = ARTIFACT_PATHS.get(name, f"assets/{'/'.join(asset_key.path)}{suffix}")
        return self.root_path() / relative

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        with explained_errors(self.root_path()):
            self.write(context, obj)

    def load_input(self, context: dg.InputContext):
        with explained_errors(self.root_path()):
            return self.read(context)

    def write(self, context: dg.OutputContext, obj) -> None:
        """Persist ``obj``, the output of ``context``'s asset."""
        raise NotImplementedError

    def read(self, context: dg.InputContext):
        """The value of ``context``'s upstream asset, as its input is annotated."""
        raise NotImplementedError

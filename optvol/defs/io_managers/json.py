"""JSON documents (the evaluations' metrics) under the artifact root; see
:class:`JsonIOManager`."""

import json

import dagster as dg

from optvol.core.common.atomic import atomic_open
from optvol.core.common.storage import (
    ArtifactPath,
)
from optvol.core.common.versioned_json import VersionedFile
from optvol.defs.io_managers.base import ArtifactIOManager, require_artifact


class JsonIOManager(ArtifactIOManager):
    """JSON documents (metrics) at the docs/architecture.md §2 paths under ``root``, written
    atomically. A typed document (a :class:`VersionedFile`) is written as its own text and
    read back through the type the consuming step declares, so that a malformed file
    fails that step with one message naming the file and the field."""

    def path_for(self, asset_key: dg.AssetKey) -> ArtifactPath:
        return self.artifact_path(asset_key, ".json")

    def write(self, context: dg.OutputContext, obj: dict | VersionedFile) -> None:
        path = self.path_for(context.asset_key)
        if isinstance(obj, VersionedFile):
            text = obj.text()
        else:
            text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False)
        with atomic_open(path) as handle:
            handle.write(text.encode())
        context.add_output_metadata(
            {"path": dg.MetadataValue.path(str(path)), "bytes": dg.MetadataValue.int(len(text))}
        )
        context.log.info("Wrote %s (%d bytes)", path, len(text))

    def read(self, context: dg.InputContext) -> dict | VersionedFile:
        path = self.path_for(context.asset_key)
        require_artifact(path, context.asset_key)
        declared = context.dagster_type.typing_type
        if isinstance(declared, type) and issubclass(declared, VersionedFile):
            return declared.read(path)
        return json.loads(path.read_bytes())

"""Trained models as their own safe files under the artifact root; see
:class:`ModelIOManager`."""

import tempfile
from pathlib import Path

import dagster as dg

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.storage import (
    ArtifactPath,
    download,
    file_names,
    is_remote,
    upload,
)
from optvol.defs.io_managers.base import ArtifactIOManager, asset_name


class ModelIOManager(ArtifactIOManager):
    """Trained models as their own safe files at the docs/architecture.md §2 paths under ``root``.

    A model object provides ``save(stem)`` returning the paths it wrote (atomically), and
    its class a ``load(stem)``; the class comes from the input's type annotation. The
    metadata gives each file's path and size. Under a remote root the model is saved to a
    local temporary directory and each file uploaded (the card first, as a local save
    renames it first); loading downloads the files and loads them from there, so the
    card's sha256 still guards what is loaded.
    """

    def stem_for(self, asset_key: dg.AssetKey) -> ArtifactPath:
        return self.artifact_path(asset_key, ".model").with_suffix("")

    def write(self, context: dg.OutputContext, obj) -> None:
        stem = self.stem_for(context.asset_key)
        if is_remote(stem):
            files = _save_and_upload(obj, stem)
        else:
            files = [(path, path.stat().st_size) for path in obj.save(stem)]
        metadata = {}
        for path, size in files:
            kind = path.suffix.lstrip(".")
            metadata[f"{kind}_path"] = dg.MetadataValue.path(str(path))
            metadata[f"{kind}_bytes"] = dg.MetadataValue.int(size)
            context.log.info("Wrote %s (%d bytes)", path, size)
        context.add_output_metadata(metadata)

    def read(self, context: dg.InputContext):
        model_class = context.dagster_type.typing_type
        if not hasattr(model_class, "load"):
            raise TypeError(
                f"annotate the input {context.name!r} with the model class to load "
                f"(one with a load(stem) classmethod), not {model_class!r}"
            )
        stem = self.stem_for(context.asset_key)
        if not is_remote(stem):
            return model_class.load(stem)
        names = sorted(n for n in file_names(stem.parent) if n.startswith(f"{stem.name}."))
        if not names:
            raise FileNotFoundError(
                f"{stem}.* does not exist: materialize asset "
                f"{asset_name(context.asset_key)!r} first"
            )
        with tempfile.TemporaryDirectory(prefix="optvol-model-") as staging:
            for name in names:
                download(stem.parent / name, Path(staging) / name)
            try:
                return model_class.load(Path(staging) / stem.name)
            except OptvolInputError as error:  # name the objects, not their local copies
                raise OptvolInputError(str(error).replace(staging, str(stem.parent))) from error


def _save_and_upload(model, stem: ArtifactPath) -> list[tuple[ArtifactPath, int]]:
    """Save ``model`` in a local temporary directory and upload its files beside the
    remote ``stem``, the card (``.json``) first; return each object and its size."""
    with tempfile.TemporaryDirectory(prefix="optvol-model-") as staging:
        local_paths = model.save(Path(staging) / stem.name)
        for path in sorted(local_paths, key=lambda p: p.suffix != ".json"):
            upload(path, stem.parent / path.name)
        return [(stem.parent / path.name, path.stat().st_size) for path in local_paths]

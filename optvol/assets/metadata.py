"""Metadata helpers shared by the assets: plots a person sees inline in the Dagster UI."""

import base64
from pathlib import Path

import dagster as dg
import pandas as pd


def markdown_image(path: Path) -> str:
    """The PNG at ``path`` as a markdown image with the data inline (base64)."""
    encoded = base64.b64encode(path.read_bytes()).decode()
    return f"![{path.stem}](data:image/png;base64,{encoded})"


def plot_metadata(plots: dict[str, Path]) -> dict[str, dg.MetadataValue]:
    """Each plot inline (a markdown image the UI shows) and its path."""
    metadata = {}
    for name, path in plots.items():
        metadata[f"plot_{name}"] = dg.MetadataValue.md(markdown_image(path))
        metadata[f"plot_{name}_path"] = dg.MetadataValue.path(str(path))
    return metadata


def scores_table(scores: dict[str, dict], digits: int = 4) -> dg.MetadataValue:
    """``{model: {metric: value}}`` as a markdown table, one row per model."""
    table = pd.DataFrame(scores).T
    table.index.name = "model"
    return dg.MetadataValue.md(table.to_markdown(floatfmt=f".{digits}f"))

"""Metadata helpers shared by the assets: plots a person sees inline in the Dagster UI."""

import base64
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import BaseModel

from optvol.core.options.evaluation_file import Dynamics
from optvol.core.reports.document import Report, Section
from optvol.core.reports.files import ReportFiles
from optvol.core.reports.markdown import render_markdown


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


def scores_table(scores: Mapping[str, BaseModel], digits: int = 4) -> dg.MetadataValue:
    """``{model: scores}`` (an evaluation's typed scores) as a markdown table, one row per
    model."""
    table = pd.DataFrame.from_dict(_plain(scores), orient="index")
    table.index.name = "model"
    for column in table.columns:
        if pd.api.types.is_integer_dtype(table[column]):  # counts, not floats
            table[column] = table[column].map("{:,}".format)
    return dg.MetadataValue.md(table.to_markdown(floatfmt=f".{digits}f"))


def scores_schema(scores: Mapping[str, BaseModel]) -> dg.TableSchema:
    """The column schema of :func:`scores_table`: the model, then one column per score."""
    scores = _plain(scores)
    names = list(dict.fromkeys(name for values in scores.values() for name in values))
    columns = [dg.TableColumn("model", "string")]
    for name in names:
        kind = "int" if all(isinstance(v.get(name), int) for v in scores.values()) else "float"
        columns.append(dg.TableColumn(name, kind))
    return dg.TableSchema(columns=columns)


def _plain(scores: Mapping[str, BaseModel]) -> dict[str, dict]:
    return {name: values.model_dump() for name, values in scores.items()}


def evaluation_metadata(rows: int, scores: Mapping[str, BaseModel]) -> dict[str, dg.MetadataValue]:
    """What an evaluation's page shows first: the rows scored, the scores table and its
    schema (the evaluation's own table: one row per model)."""
    return {
        "dagster/row_count": dg.MetadataValue.int(rows),
        "dagster/column_schema": dg.MetadataValue.table_schema(scores_schema(scores)),
        "metrics": scores_table(scores),
    }


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def dynamics_metadata(dynamics: Dynamics) -> dict[str, dg.MetadataValue]:
    """How the implied vols move (:func:`optvol.core.options.dynamics.iv_dynamics`): the
    near-the-money slope and R^2 as numbers the UI can chart across runs, and the bucket
    table."""
    near = dynamics.near_money
    table = pd.DataFrame([bucket.model_dump() for bucket in dynamics.buckets])
    table = table[table["n"] > 0][["dte", "moneyness", "slope", "r2", "residual_sd", "n"]]
    return {
        "near_money_iv_slope": dg.MetadataValue.float(_number(near.slope)),
        "near_money_iv_r2": dg.MetadataValue.float(_number(near.r2)),
        "iv_dynamics": dg.MetadataValue.md(
            f"Change of mid implied vol on the underlying's return into the day; near the "
            f"money slope {_number(near.slope):+.3f}, R² {_number(near.r2):.3f}, "
            f"n {near.n:,}.\n\n" + table.to_markdown(index=False, floatfmt=".3f")
        ),
    }


def report_metadata(
    files: ReportFiles, report: Report, results: str
) -> dict[str, dg.MetadataValue]:
    """Where the report is, its size and pages, and its summary and the first table of
    section ``results`` as markdown, so the asset page says what the report says."""
    section = report.section(results)
    excerpt = Report(
        report.title,
        report.subtitle,
        (report.sections[0], Section(section.title, (section.tables()[0],))),
    )
    return {
        "markdown_path": dg.MetadataValue.path(str(files.markdown)),
        "pdf_path": dg.MetadataValue.path(str(files.pdf)),
        "pdf_pages": dg.MetadataValue.int(files.pages),
        "pdf_bytes": dg.MetadataValue.int(files.pdf.stat().st_size),
        "markdown_bytes": dg.MetadataValue.int(files.markdown.stat().st_size),
        "sections": dg.MetadataValue.json([s.title for s in report.sections]),
        "report": dg.MetadataValue.md(render_markdown(excerpt, files.markdown.parent)),
        **plot_metadata({figure.path.stem: figure.path for figure in report.figures()}),
    }

"""The step both report assets share: write the report's files, log them, describe them."""

import dagster as dg

from optvol.core.common.paths import REPORT_PATHS
from optvol.core.reports.document import Report
from optvol.core.reports.files import write_report
from optvol.defs.shared.metadata import report_metadata
from optvol.defs.shared.settings import Settings


def materialize_report(
    context: dg.AssetExecutionContext, report: Report, results: str, settings: Settings
) -> dg.MaterializeResult:
    """Write ``report`` to the asset's Markdown and PDF paths under the data root; the
    metadata shows its summary and the first table of section ``results``."""
    markdown, pdf = (settings.data_path / p for p in REPORT_PATHS[context.asset_key.path[-1]])
    files = write_report(report, markdown, pdf)
    for figure in report.figures():
        context.log.info("Report figure %s", figure.path)
    context.log.info("Wrote %s and %s (%d pages)", files.markdown, files.pdf, files.pages)
    return dg.MaterializeResult(metadata=report_metadata(files, report, results))

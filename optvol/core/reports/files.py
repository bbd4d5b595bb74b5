"""Writing a report as Markdown and PDF side by side, each file atomically."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from optvol.core.common.atomic import atomic_path
from optvol.core.reports.document import Report
from optvol.core.reports.markdown import render_markdown

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportFiles:
    """The files of a written report and the PDF's page count."""

    markdown: Path
    pdf: Path
    pages: int
    markdown_text: str


def write_report(report: Report, markdown_path: str | Path, pdf_path: str | Path) -> ReportFiles:
    """Render ``report`` to ``markdown_path`` (images linked relative to its folder) and to
    ``pdf_path``. Both are written to temporary files before either is replaced, so a
    report that cannot be rendered (a missing plot, say) leaves the previous files as
    they were."""
    from optvol.core.reports.pdf import write_pdf  # matplotlib, when a report is written

    markdown_path, pdf_path = Path(markdown_path), Path(pdf_path)
    text = render_markdown(report, markdown_path.parent)
    # Both temporary files are complete before either replaces its target.
    with atomic_path(markdown_path) as markdown_tmp, atomic_path(pdf_path) as pdf_tmp:
        pages = write_pdf(report, pdf_tmp)
        markdown_tmp.write_text(text)
    log.info("Wrote report %s (%d bytes)", markdown_path, markdown_path.stat().st_size)
    log.info("Wrote report %s (%d pages, %d bytes)", pdf_path, pages, pdf_path.stat().st_size)
    return ReportFiles(markdown_path, pdf_path, pages, text)

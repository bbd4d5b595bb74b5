"""
A report as plain data: sections of paragraphs, bullet lists, tables and figures.

The report builders (:mod:`optvol.core.options.report`,
:mod:`optvol.core.volatility.report`) decide *what* a report says; the renderers
(:mod:`optvol.core.reports.markdown`, :mod:`optvol.core.reports.pdf`) decide how it looks.
So the Markdown and the PDF always say the same thing, and a test can read a report's
numbers without parsing either format.

Text is plain: no markup, no escaping. Table cells are strings already formatted to the
precision the reader sees, so what is printed is exactly what a test compares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Block", "Bullets", "Figure", "Paragraph", "Report", "Section", "Table"]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A bulleted list; each item is plain text."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """
    A table of formatted cells.

    ``columns`` are the header cells; each row has one cell per column. ``numeric``
    names the columns whose cells are numbers (right-aligned by the renderers);
    ``caption`` is a sentence shown above the table.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    numeric: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.caption!r}: a row has {len(row)} cells for "
                    f"{len(self.columns)} columns: {row}"
                )
        unknown = set(self.numeric) - set(self.columns)
        if unknown:
            raise ValueError(f"table {self.caption!r}: numeric columns {unknown} not in columns")

    def column(self, name: str) -> list[str]:
        """The cells of column ``name``, top to bottom."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


@dataclass(frozen=True)
class Figure:
    """A PNG image on disk and its caption."""

    path: Path
    caption: str


Block = Paragraph | Bullets | Table | Figure


@dataclass(frozen=True)
class Section:
    """A titled section: its blocks in reading order."""

    title: str
    blocks: tuple[Block, ...]

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]


@dataclass(frozen=True)
class Report:
    """A report: title, a one-line subtitle, and sections in reading order."""

    title: str
    subtitle: str
    sections: tuple[Section, ...]

    def section(self, title: str) -> Section:
        """The section called ``title``; KeyError naming the sections there are."""
        for section in self.sections:
            if section.title == title:
                return section
        raise KeyError(f"no section {title!r}; sections: {[s.title for s in self.sections]}")

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]

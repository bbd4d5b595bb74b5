"""
The PDF rendering of a :class:`~optvol.core.reports.document.Report`.

A small flow layout in three steps. *Measure*: each block becomes a list of strips
(:class:`_Item`: a line of text, a table row, a figure with its caption) of known height.
*Paginate*: the strips are stacked onto A4 pages, breaking only between strips.
*Draw*: each page is drawn, now that its footer can say "page n of N".

Pages are written by :mod:`optvol.core.reports._pdf_file` in DejaVu Sans, the charts'
font. Text is measured with the metrics it is set with (glyph advances and kerning) and
always placed by its left edge, so a line wrapped to the text width never runs past the
margin.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from optvol.core.common.atomic import atomic_path
from optvol.core.reports._pdf_file import Document, Page, Raster, read_raster, text_width
from optvol.core.reports.document import Block, Bullets, Figure, Paragraph, Report, Table
from optvol.core.reports.plotting import DPI

__all__ = ["write_pdf"]

PT = 72.0  # points per inch. Layout is in points, from the page's top-left corner, y down.


@dataclass(frozen=True)
class _Font:
    size: float
    weight: str = "normal"
    style: str = "normal"
    color: str = "#222222"
    leading: float = 1.35  # line height / size

    @property
    def line(self) -> float:
        return self.size * self.leading

    @property
    def face(self) -> str:
        """The DejaVu Sans face: ``normal``, ``bold`` or ``italic``."""
        return "bold" if self.weight == "bold" else self.style


TITLE = _Font(18, "bold", leading=1.3)
SUBTITLE = _Font(10, color="#666666")
HEADING = _Font(13, "bold", leading=1.3)
BODY = _Font(9.5)
CAPTION = _Font(8.5, style="italic", color="#444444")
FOOTER = _Font(8, color="#777777")
TABLE_SIZES = (8.5, 8.0, 7.5, 7.0, 6.5)  # tried in turn until a table fits the text width
BLOCK_GAP, HEADING_GAP, BULLET_INDENT = 7.0, 16.0, 13.0


class _Layout:
    """A4 portrait page geometry, in points."""

    width, height, margin = 8.27 * PT, 11.69 * PT, 0.75 * PT
    left = top = margin
    text_width, bottom = width - 2 * margin, height - margin
    max_figure_height = 0.45 * height


PAGE = _Layout()


@functools.lru_cache(maxsize=1 << 16)
def _width(text: str, font: _Font) -> float:
    """The width in points of ``text`` set in ``font`` on one line."""
    return text_width(text, font.face, font.size)


def _wrap(text: str, font: _Font, width: float) -> list[str]:
    """``text`` in lines no wider than ``width``: broken at spaces, and inside a word only
    when the word alone is too wide. A newline in ``text`` breaks the line.

    Greedy, with each candidate line measured whole, except that a candidate whose words'
    widths and spaces add up to under :data:`_SURELY_FITS` of ``width`` is taken without
    measuring (laying out a line costs about a millisecond, a cached word nothing). The
    lines found so are then measured whole; should one not fit, the text is wrapped again
    measuring every candidate, so the lines are always those of measuring every one."""
    lines = _wrap_greedy(text, font, width, estimate=True)
    if all(_fits(line, font, width) or len(line) <= 1 for line in lines):
        return lines
    return _wrap_greedy(text, font, width, estimate=False)


# A sum of word widths can differ from the line's width by the side bearings and kerning
# at the spaces: a point or two, against this margin of a tenth of the text width.
_SURELY_FITS = 0.9


def _fits(text: str, font: _Font, width: float) -> bool:
    return _width(text, font) <= width + 1e-6


def _wrap_greedy(text: str, font: _Font, width: float, estimate: bool) -> list[str]:
    fits = functools.partial(_fits, font=font, width=width)
    space = _width("n n", font) - _width("nn", font) if estimate else 0.0
    lines = []
    for chunk in text.split("\n"):
        line, added = "", 0.0
        for word in chunk.split():
            candidate = f"{line} {word}".lstrip()
            guess = added + (space if line else 0.0) + _width(word, font) if estimate else 0.0
            if (estimate and guess <= _SURELY_FITS * width) or fits(candidate):
                line, added = candidate, guess
                continue
            if line:
                lines.append(line)
            while not fits(word) and len(word) > 1:
                cuts = [k for k in range(1, len(word)) if fits(word[:k])] or [1]
                # Break after punctuation (a thousands separator, a decimal point) if near.
                near = [k for k in cuts if word[k - 1] in ",.;:_-/" and 2 * k >= cuts[-1]]
                cut = (near or cuts)[-1]
                lines.append(word[:cut])
                word = word[cut:]
            line, added = word, _width(word, font) if estimate else 0.0
        lines.append(line)
    return lines


class _Page:
    """One page of the document, addressed in layout points."""

    def __init__(self, page: Page) -> None:
        self._page = page

    def text(self, x: float, top: float, text: str, font: _Font, align: str = "left") -> None:
        """``text`` in the line box of ``font`` whose top is at ``top``; ``x`` is its left
        edge, centre or right edge as ``align`` says."""
        x -= {"left": 0.0, "center": 0.5, "right": 1.0}[align] * _width(text, font)
        baseline = top + font.line / 2 + 0.245 * font.size  # centres cap height + descender
        self._page.text(x, baseline, text, font.face, font.size, font.color)

    def rule(self, x: float, width: float, y: float, weight: float) -> None:
        self._page.rule(x, x + width, y, weight, "#333333")

    def fill(self, x: float, top: float, width: float, height: float, color: str) -> None:
        self._page.fill(x, top, width, height, color)

    def image(self, image: Raster, key: str, x: float, top: float, width: float,
              height: float) -> None:  # fmt: skip
        """The image's own pixels, stretched over the box (embedded once per file)."""
        self._page.image(image, key, x, top, width, height)


@dataclass(frozen=True)
class _Item:
    """A strip of a page, ``height`` points tall, drawn by ``draw(page, top)``.

    Pages break only between items. ``glue`` keeps the item on the page of the next one
    (a heading with its text); ``repeat`` is drawn first when the item opens a page (a
    table's header above a row that continues the table).
    """

    height: float
    draw: Callable[[_Page, float], None]
    space_before: float = 0.0
    glue: bool = False
    repeat: tuple[_Item, ...] = ()


def _text_items(
    text: str,
    font: _Font,
    space_before: float = 0.0,
    glue: bool = False,
    x: float = PAGE.left,
    width: float = PAGE.text_width,
) -> list[_Item]:
    """One item per wrapped line; ``glue`` keeps all the lines with what follows."""

    def item(i: int, line: str) -> _Item:
        draw = lambda page, top: page.text(x, top, line, font)  # noqa: E731
        return _Item(font.line, draw, space_before if i == 0 else 0.0, glue)

    return [item(i, line) for i, line in enumerate(_wrap(text, font, width))]


def _measure_paragraph(block: Paragraph) -> list[_Item]:
    items = _text_items(block.text, BODY, BLOCK_GAP)
    # No first line alone at the foot of a page, no last line alone at the top of one.
    keep = {0, len(items) - 2} & set(range(len(items) - 1))
    return [replace(item, glue=i in keep) for i, item in enumerate(items)]


def _measure_bullets(block: Bullets) -> list[_Item]:
    items: list[_Item] = []
    indent = PAGE.left + BULLET_INDENT
    for n, text in enumerate(block.items):
        gap = BLOCK_GAP if n == 0 else 2.0
        lines = _text_items(text, BODY, gap, x=indent, width=PAGE.text_width - BULLET_INDENT)

        def draw(page: _Page, top: float, first: _Item = lines[0]) -> None:
            page.text(PAGE.left + 3.0, top, "\u2022", BODY)
            first.draw(page, top)

        items += [replace(lines[0], draw=draw), *lines[1:]]
    return items


def _column_widths(table: Table, size: float, width: float, last: bool) -> list[float] | None:
    """Column widths (padding included) at font ``size``, or None if the table is wider
    than ``width`` and a smaller size is still to try."""
    cell, head, pad = _Font(size), _Font(size, "bold"), 1.2 * size
    body = [
        max((_width(c, cell) for c in table.column(name)), default=0) + pad
        for name in table.columns
    ]
    natural = [
        max(b, _width(name, head) + pad) for b, name in zip(body, table.columns, strict=True)
    ]
    if sum(natural) <= width or not last:
        return natural if sum(natural) <= width else None
    # Smallest font and still too wide: header cells wrap, down to their longest word.
    floor = [
        max(b, *(_width(w, head) + pad for w in name.split() or [""]))
        for b, name in zip(body, table.columns, strict=True)
    ]
    if sum(floor) <= width:
        share = (width - sum(floor)) / (sum(natural) - sum(floor))
        return [f + (n - f) * share for f, n in zip(floor, natural, strict=True)]
    # Even the cells do not fit: cap the widest columns at one width; their cells wrap.
    remaining, ordered = width, sorted(floor)
    for k, w in enumerate(ordered):
        if w * (len(ordered) - k) > remaining:
            return [min(f, remaining / (len(ordered) - k)) for f in floor]
        remaining -= w
    return floor


def _measure_table(table: Table) -> list[_Item]:
    for size in TABLE_SIZES:
        widths = _column_widths(table, size, PAGE.text_width, size == TABLE_SIZES[-1])
        if widths is not None:
            break
    cell, head = _Font(size, leading=1.25), _Font(size, "bold", leading=1.25)
    pad, vpad, total = 0.6 * size, 0.3 * size, sum(widths)  # pad as in _column_widths
    numeric = [name in table.numeric for name in table.columns]

    def row(cells: tuple[str, ...], font: _Font, index: int, space_before: float = 0.0) -> _Item:
        """A table row; ``index`` -1 is the header."""
        cells = [" ".join(c.split()) for c in cells]
        wrapped = [_wrap(c, font, w - 2 * pad) for c, w in zip(cells, widths, strict=True)]
        height = max(len(lines) for lines in wrapped) * font.line + 2 * vpad

        def draw(page: _Page, top: float) -> None:
            if index % 2 == 1 and index > 0:  # zebra rows
                page.fill(PAGE.left, top, total, height, "#f0f0f0")
            x = PAGE.left
            for lines, w, right in zip(wrapped, widths, numeric, strict=True):
                for i, line in enumerate(lines):
                    at, align = (x + w - pad, "right") if right else (x + pad, "left")
                    page.text(at, top + vpad + i * font.line, line, font, align)
                x += w
            if index == -1:
                page.rule(PAGE.left, total, top, 0.8)
            if index in (-1, len(table.rows) - 1):
                page.rule(PAGE.left, total, top + height, 0.5 if index == -1 else 0.8)

        return _Item(height, draw, space_before, glue=index == -1)

    has_caption = bool(table.caption.strip())
    caption = _text_items(table.caption, CAPTION, BLOCK_GAP, glue=True) if has_caption else []
    continued = _text_items(f"{table.caption} (continued)".strip(), CAPTION, glue=True)
    if not table.columns:
        return caption
    header = row(table.columns, head, -1, 2.0 if caption else BLOCK_GAP)
    rows = (row(cells, cell, i) for i, cells in enumerate(table.rows))
    repeat = (*continued, replace(header, space_before=2.0))
    return [*caption, header, *(replace(r, repeat=repeat) for r in rows)]


def _measure_figure(block: Figure) -> list[_Item]:
    path = Path(block.path)
    if not path.is_file():
        raise FileNotFoundError(f"report figure not found: {path}")
    image = read_raster(path)
    rows, cols = image.shape
    # The chart's own size at the DPI it was drawn at, shrunk (never enlarged) to fit.
    scale = min(PT / DPI, PAGE.text_width / cols, PAGE.max_figure_height / rows)
    width, height = cols * scale, rows * scale
    caption = _wrap(block.caption, CAPTION, PAGE.text_width) if block.caption.strip() else []
    centre = PAGE.left + PAGE.text_width / 2

    def draw(page: _Page, top: float) -> None:
        page.image(image, str(path), centre - width / 2, top, width, height)
        for i, line in enumerate(caption):
            page.text(centre, top + height + 4.0 + i * CAPTION.line, line, CAPTION, "center")

    return [_Item(height + 4.0 + len(caption) * CAPTION.line, draw, BLOCK_GAP)]


_MEASURE: dict[type, Callable[[Block], list[_Item]]] = {
    Paragraph: _measure_paragraph,
    Bullets: _measure_bullets,
    Table: _measure_table,
    Figure: _measure_figure,
}


def _measure(report: Report) -> list[_Item]:
    items = _text_items(report.title, TITLE, glue=True)
    if report.subtitle.strip():
        items += _text_items(report.subtitle, SUBTITLE, 2.0)
    for section in report.sections:
        items += _text_items(section.title, HEADING, HEADING_GAP, glue=True)
        for block in section.blocks:
            if type(block) not in _MEASURE:
                raise TypeError(f"not a report block: {block!r}")
            items += _MEASURE[type(block)](block)
    return items


def _paginate(items: list[_Item]) -> list[list[tuple[_Item, float]]]:
    """The items of each page, with the top of each."""
    pages: list[list[tuple[_Item, float]]] = [[]]
    y = PAGE.top
    for i, item in enumerate(items):
        gap = item.space_before if pages[-1] else 0.0
        group, j = item.height, i  # the item and the items glued after it
        while items[j].glue and j + 1 < len(items):
            j += 1
            group += items[j].space_before + items[j].height
        overflows = y + gap + item.height > PAGE.bottom
        strands = y + gap + group > PAGE.bottom and group <= PAGE.bottom - PAGE.top
        if pages[-1] and (overflows or strands):
            pages.append([])
            y, gap = PAGE.top, 0.0
            for head in item.repeat:
                y += head.space_before if pages[-1] else 0.0
                pages[-1].append((head, y))
                y += head.height
        pages[-1].append((item, y + gap))
        y += gap + item.height
    return pages


def _draw_page(page: _Page, placed: list[tuple[_Item, float]], footer: str) -> None:
    for item, top in placed:
        item.draw(page, top)
    while len(footer) > 1 and _width(footer, FOOTER) > PAGE.text_width:
        footer = footer[:-2] + "\u2026"
    top = PAGE.bottom + (PAGE.margin - FOOTER.line) / 2
    page.text(PAGE.width / 2, top, footer, FOOTER, "center")


def write_pdf(report: Report, path: str | os.PathLike) -> int:
    """
    Write ``report`` to ``path`` as an A4 PDF and return its number of pages.

    The file is written atomically: if rendering fails (a figure's image is missing:
    :class:`FileNotFoundError` naming the path), an existing file at ``path`` is left as
    it was. The same report and images give the same bytes.
    """
    pages = _paginate(_measure(report))
    document = Document(PAGE.width, PAGE.height, report.title)
    for n, placed in enumerate(pages, start=1):
        footer = f"{report.title} \u2014 page {n} of {len(pages)}"
        _draw_page(_Page(document.page()), placed, footer)
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        document.write(file)
    return len(pages)

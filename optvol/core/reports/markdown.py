"""
The GitHub-flavoured Markdown rendering of a :class:`~optvol.core.reports.document.Report`.

Report text is plain, so the renderer escapes only what Markdown would otherwise read as
markup (a list or heading marker at the start of a line, emphasis, code spans, HTML),
and leaves the rest, intra-word underscores in model names included, as it is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from optvol.core.reports.document import Block, Bullets, Figure, Paragraph, Report, Table

__all__ = ["render_markdown"]

# Markers that open a heading, quote, list, thematic break or setext underline at the
# start of a line, and "1." / "1)" ordered-list markers.
_LINE_START = re.compile(r"^([#>+=-])|^(\d+)([.)])(?=\s|$)")
# '*', '`' and '~' (GFM strikethrough) always; '_' unless inside a word, where GFM
# never reads it as emphasis; '<' where it could open an HTML tag or an autolink;
# '\' where it would escape the next character.
_INLINE = re.compile(
    r"[*`~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|<(?=[A-Za-z/!?])|\\(?=[!-/:-@[-`{-~])"
)


def _escape_inline(text: str) -> str:
    return _INLINE.sub(lambda m: "\\" + m.group(0), text)


def _escape_line(line: str) -> str:
    # Leading indentation is dropped: four spaces would start a code block.
    line = _escape_inline(line.lstrip())
    return _LINE_START.sub(lambda m: "\\" + m.group(1) if m.group(1) else rf"{m[2]}\{m[3]}", line)


def _escape_text(text: str) -> str:
    return "\n".join(_escape_line(line) for line in text.split("\n"))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _italic(text: str) -> str:
    return f"*{_escape_inline(_one_line(text))}*"


def _cell(text: str) -> str:
    return _escape_inline(_one_line(text)).replace("|", r"\|")


def _table(table: Table) -> str:
    caption = [_italic(table.caption)] if table.caption.strip() else []
    if not table.columns:
        return "".join(caption)
    header = [_cell(c) for c in table.columns]
    rows = [[_cell(c) for c in row] for row in table.rows]
    right = [c in table.numeric for c in table.columns]
    # Cells are padded to the column width so that the source reads as a table too.
    widths = [max(3, len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        pairs = zip(cells, widths, right, strict=True)
        return "| " + " | ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in pairs) + " |"

    rules = zip(widths, right, strict=True)
    rule = line([("-" * (w - 1) + ":") if r else (":" + "-" * (w - 1)) for w, r in rules])
    lines = [line(header), rule, *(line(r) for r in rows)]
    return "\n\n".join([*caption, "\n".join(lines)])


def _figure(figure: Figure, directory: str | os.PathLike) -> str:
    path = Path(figure.path)
    if not path.is_file():
        raise FileNotFoundError(f"report figure not found: {path}")
    link = os.path.relpath(path, directory).replace(os.sep, "/")
    if re.search(r"[\s()<>]", link):
        link = f"<{link.replace('<', '%3C').replace('>', '%3E')}>"
    alt = re.sub(r"([\[\]\\])", r"\\\1", _one_line(figure.caption))
    image = f"![{alt}]({link})"
    return f"{image}\n\n{_italic(figure.caption)}" if figure.caption.strip() else image


def _block(block: Block, directory: str | os.PathLike) -> str:
    if isinstance(block, Paragraph):
        return _escape_text(block.text)
    if isinstance(block, Bullets):
        return "\n".join(f"- {_escape_line(_one_line(item))}" for item in block.items)
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        return _figure(block, directory)
    raise TypeError(f"not a report block: {block!r}")


def render_markdown(report: Report, directory: str | os.PathLike) -> str:
    """
    ``report`` as GitHub-flavoured Markdown, for a file that will live in ``directory``.

    Figures are linked relative to ``directory`` (with forward slashes), so the
    Markdown file and its images can be moved together. Raises
    :class:`FileNotFoundError` naming the path if a figure's image does not exist.
    The same report gives the same text.
    """
    parts = [f"# {_escape_inline(_one_line(report.title))}"]
    if report.subtitle.strip():
        parts.append(_italic(report.subtitle))
    for section in report.sections:
        parts.append(f"## {_escape_inline(_one_line(section.title))}")
        parts.extend(text for b in section.blocks if (text := _block(b, directory)))
    return "\n\n".join(parts) + "\n"

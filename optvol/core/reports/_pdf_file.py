"""
The PDF file itself (ISO 32000-1): pages of text, lines, filled boxes and images, for
:mod:`optvol.core.reports.pdf`, which decides where everything goes.

Text is set in DejaVu Sans (the font matplotlib ships and the report's charts use),
embedded as a subset: a ``Type0`` font over a ``CIDFontType2`` with ``Identity-H``
encoding, glyph ids as character codes, widths in ``/W`` and a ``ToUnicode`` map so that
readers search and extract the text (§9.7, §9.10). A line's width is the sum of its
glyphs' advances plus the font's ``kern`` pairs, the metrics FreeType (and so matplotlib)
sets text with; the same pairs are written into each ``TJ`` array, so a line ends where
it was measured to. Images are embedded as 8-bit ``DeviceRGB`` (or gray) with their
alpha as a soft mask, at their own pixels. Every stream is deflated, and nothing in the
file depends on when it was written: the same document gives the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["FACES", "Document", "Page", "Raster", "read_raster", "text_width"]

log = logging.getLogger(__name__)

FACES = {
    "normal": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "italic": "DejaVuSans-Oblique.ttf",
}


@dataclass(frozen=True)
class _Face:
    """A TrueType face's metrics, in font units."""

    path: Path
    postscript_name: str
    units_per_em: int
    glyph_of: dict[int, int]  # code point -> glyph id
    advance: tuple[int, ...]  # by glyph id
    kerning: dict[tuple[int, int], int]
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    cap_height: int
    italic_angle: float


@functools.cache
def _face(style: str) -> _Face:
    from fontTools.ttLib import TTFont

    path = _font_path(FACES[style])
    with TTFont(path, lazy=True) as font:
        return _metrics(path, font)


def _metrics(path: Path, font) -> _Face:
    order = {name: gid for gid, name in enumerate(font.getGlyphOrder())}
    metrics = font["hmtx"].metrics
    kerning: dict[tuple[int, int], int] = {}
    if "kern" in font:
        for table in font["kern"].kernTables:
            for (left, right), value in getattr(table, "kernTable", {}).items():
                if left in order and right in order:
                    kerning[order[left], order[right]] = value
    head, os2 = font["head"], font["OS/2"]
    return _Face(
        path=path,
        postscript_name=str(font["name"].getDebugName(6)),
        units_per_em=head.unitsPerEm,
        glyph_of={code: order[name] for code, name in font.getBestCmap().items()},
        advance=tuple(metrics[name][0] for name in font.getGlyphOrder()),
        kerning=kerning,
        bbox=(head.xMin, head.yMin, head.xMax, head.yMax),
        ascent=font["hhea"].ascent,
        descent=font["hhea"].descent,
        cap_height=getattr(os2, "sCapHeight", font["hhea"].ascent),
        italic_angle=float(font["post"].italicAngle),
    )


def _font_path(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def _glyphs(text: str, face: _Face) -> list[int]:
    return [face.glyph_of.get(ord(char), 0) for char in text]


def text_width(text: str, style: str, size: float) -> float:
    """The width in points of ``text`` on one line in the ``style`` face at ``size``."""
    face = _face(style)
    glyphs = _glyphs(text, face)
    units = sum(face.advance[g] for g in glyphs)
    units += sum(face.kerning.get(pair, 0) for pair in zip(glyphs, glyphs[1:], strict=False))
    return units * size / face.units_per_em


@dataclass(frozen=True)
class Raster:
    """An image's 8-bit samples: ``pixels`` (rows x cols x 1 or 3) and its ``alpha``
    (rows x cols) unless opaque."""

    pixels: np.ndarray
    alpha: np.ndarray | None

    @property
    def shape(self) -> tuple[int, int]:
        return self.pixels.shape[:2]


def read_raster(path: str | os.PathLike) -> Raster:
    """The PNG (or any image Pillow reads) at ``path``."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        if image.mode.startswith("I;16"):  # 16-bit gray: its high bytes
            samples = (np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8)
        else:
            if image.mode not in ("L", "RGB", "RGBA", "LA") or "transparency" in image.info:
                image = image.convert("RGBA")
            samples = np.asarray(image)
    if samples.ndim == 2:
        samples = samples[:, :, None]
    pixels, alpha = samples, None
    if samples.shape[2] in (2, 4):
        pixels, alpha = samples[:, :, :-1], samples[:, :, -1]
        if (alpha == 255).all():
            alpha = None
    return Raster(np.ascontiguousarray(pixels), alpha)


def _rgb(color: str) -> str:
    value = color.lstrip("#")
    return " ".join(f"{int(value[i : i + 2], 16) / 255:.4g}" for i in (0, 2, 4))


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _text_string(text: str) -> bytes:
    """A PDF text string (the document's title): UTF-16BE with its byte-order mark."""
    return b"<" + ("\ufeff" + text).encode("utf-16-be").hex().upper().encode() + b">"


@dataclass
class _UsedFont:
    resource: str
    face: _Face
    glyphs: dict[int, str] = field(default_factory=dict)  # glyph id -> the text it shows
    missing: set[str] = field(default_factory=set)  # characters the face has no glyph for


class Page:
    """One page's content, drawn in points from the page's top-left corner (y down)."""

    def __init__(self, document: Document) -> None:
        self._document = document
        self._ops: list[str] = []
        self.fonts: set[str] = set()
        self.images: set[str] = set()

    def text(self, x: float, baseline: float, text: str, style: str, size: float,
             color: str) -> None:  # fmt: skip
        """``text`` from ``x`` on the ``baseline``."""
        font = self._document.font(style)
        self.fonts.add(font.resource)
        face = font.face
        glyphs = _glyphs(text, face)
        for char, glyph in zip(text, glyphs, strict=True):
            if glyph == 0 and char not in font.missing:  # drawn as the empty box
                font.missing.add(char)
                log.warning("DejaVu Sans has no glyph for %r (U+%04X)", char, ord(char))
            font.glyphs.setdefault(glyph, char if glyph else "\ufffd")
        parts, run = [], []
        for i, glyph in enumerate(glyphs):
            run.append(f"{glyph:04X}")
            kern = face.kerning.get((glyph, glyphs[i + 1]), 0) if i + 1 < len(glyphs) else 0
            if kern:
                parts.append(f"<{''.join(run)}> {_number(-kern * 1000 / face.units_per_em)}")
                run = []
        if run:
            parts.append(f"<{''.join(run)}>")
        y = self._document.height - baseline
        self._ops.append(
            f"BT {font.resource} {_number(size)} Tf {_rgb(color)} rg "
            f"1 0 0 1 {_number(x)} {_number(y)} Tm [{' '.join(parts)}] TJ ET"
        )

    def rule(self, x0: float, x1: float, y: float, width: float, color: str) -> None:
        """A horizontal line from ``x0`` to ``x1``, ``width`` points thick, butt ends."""
        y = self._document.height - y
        self._ops.append(
            f"{_number(width)} w 0 J {_rgb(color)} RG "
            f"{_number(x0)} {_number(y)} m {_number(x1)} {_number(y)} l S"
        )

    def fill(self, x: float, top: float, width: float, height: float, color: str) -> None:
        y = self._document.height - top - height
        self._ops.append(
            f"{_rgb(color)} rg {_number(x)} {_number(y)} {_number(width)} {_number(height)} re f"
        )

    def image(self, raster: Raster, key: str, x: float, top: float, width: float,
              height: float) -> None:  # fmt: skip
        """``raster`` (named ``key``, embedded once per document) stretched over the box."""
        name = self._document.image(raster, key)
        self.images.add(name)
        y = self._document.height - top - height
        self._ops.append(
            f"q {_number(width)} 0 0 {_number(height)} {_number(x)} {_number(y)} cm {name} Do Q"
        )

    def content(self) -> bytes:
        return "\n".join(self._ops).encode("latin-1")


class Document:
    """A PDF of ``width`` x ``height`` point pages, built page by page, then written."""

    def __init__(self, width: float, height: float, title: str) -> None:
        self.width, self.height, self.title = width, height, title
        self.pages: list[Page] = []
        self._fonts: dict[str, _UsedFont] = {}
        self._images: dict[str, tuple[str, Raster]] = {}

    def page(self) -> Page:
        self.pages.append(Page(self))
        return self.pages[-1]

    def font(self, style: str) -> _UsedFont:
        if style not in self._fonts:
            self._fonts[style] = _UsedFont(f"/F{len(self._fonts) + 1}", _face(style))
        return self._fonts[style]

    def image(self, raster: Raster, key: str) -> str:
        if key not in self._images:
            self._images[key] = (f"/Im{len(self._images) + 1}", raster)
        return self._images[key][0]

    def write(self, stream: io.BufferedIOBase) -> None:
        """The file's bytes, to ``stream``."""
        out = _Objects()
        catalog, pages = out.reserve(), out.reserve()
        fonts = {f.resource: _embed_font(out, f) for f in self._fonts.values()}
        images = {name: _embed_image(out, raster) for name, raster in self._images.values()}
        kids = []
        for page in self.pages:
            content = out.add_stream(b"", page.content())
            font_refs = " ".join(f"{r} {fonts[r]} 0 R" for r in sorted(page.fonts))
            image_refs = " ".join(f"{n} {images[n]} 0 R" for n in sorted(page.images))
            kids.append(
                out.add(
                    f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {_number(self.width)} "
                    f"{_number(self.height)}] /Resources << /Font << {font_refs} >> "
                    f"/XObject << {image_refs} >> >> /Contents {content} 0 R >>".encode()
                )
            )
        out.put(pages, f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
                       f"/Count {len(kids)} >>".encode())  # fmt: skip
        out.put(catalog, f"<< /Type /Catalog /Pages {pages} 0 R >>".encode())
        info = out.add(b"<< /Title " + _text_string(self.title) + b" /Creator (optvol) >>")
        out.write(stream, catalog, info)


class _Objects:
    """The file's numbered objects and the cross-reference table that finds them."""

    def __init__(self) -> None:
        self._bodies: list[bytes | None] = []

    def reserve(self) -> int:
        self._bodies.append(None)
        return len(self._bodies)

    def put(self, number: int, body: bytes) -> None:
        self._bodies[number - 1] = body

    def add(self, body: bytes) -> int:
        number = self.reserve()
        self.put(number, body)
        return number

    def add_stream(self, entries: bytes, data: bytes) -> int:
        packed = zlib.compress(data, 6)
        head = b"<< " + entries + b" /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
        return self.add(head + packed + b"\nendstream")

    def write(self, stream: io.BufferedIOBase, root: int, info: int) -> None:
        offsets = []
        position = stream.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        for number, body in enumerate(self._bodies, start=1):
            offsets.append(position)
            position += stream.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        table = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)]
        table += [b"%010d 00000 n \n" % offset for offset in offsets]
        stream.write(b"".join(table))
        stream.write(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(offsets) + 1, root, info, position)
        )


def _embed_font(out: _Objects, font: _UsedFont) -> int:
    face = font.face
    glyphs = sorted(font.glyphs)
    # A subset's name starts with six capitals that name the subset (§9.6.4).
    digest = hashlib.sha256(f"{face.postscript_name}{glyphs}".encode()).digest()
    name = "".join(chr(65 + b % 26) for b in digest[:6]) + "+" + face.postscript_name
    data = _subset(face.path, tuple(glyphs))
    scale = 1000 / face.units_per_em
    file = out.add_stream(b"/Length1 %d" % len(data), data)
    bbox = " ".join(str(round(v * scale)) for v in face.bbox)
    flags = 32 + (64 if face.italic_angle else 0)
    descriptor = out.add(
        f"<< /Type /FontDescriptor /FontName /{name} /Flags {flags} /FontBBox [{bbox}] "
        f"/ItalicAngle {_number(face.italic_angle)} /Ascent {round(face.ascent * scale)} "
        f"/Descent {round(face.descent * scale)} /CapHeight {round(face.cap_height * scale)} "
        f"/StemV 80 /FontFile2 {file} 0 R >>".encode()
    )
    widths = " ".join(f"{g} [{_number(face.advance[g] * scale)}]" for g in glyphs)
    cid = out.add(
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo "
        f"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor "
        f"{descriptor} 0 R /W [{widths}] /CIDToGIDMap /Identity >>".encode()
    )
    unicode_map = out.add_stream(b"", _to_unicode(font.glyphs))
    return out.add(
        f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
        f"/DescendantFonts [{cid} 0 R] /ToUnicode {unicode_map} 0 R >>".encode()
    )


@functools.lru_cache(maxsize=64)
def _subset(path: Path, glyphs: tuple[int, ...]) -> bytes:
    """The font at ``path`` with only ``glyphs`` (and .notdef) drawn, every glyph keeping
    its id; no hinting or layout tables (the text is positioned already)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.retain_gids = True
    options.hinting = False
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "FFTM"]
    options.notdef_outline = True
    # The head table keeps the font's own dates: a save stamped with the time of writing
    # would make the same report's bytes differ from one process to the next.
    with TTFont(path, lazy=True, recalcTimestamp=False) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(gids=list(glyphs))
        subsetter.subset(font)
        buffer = io.BytesIO()
        font.save(buffer)
    return buffer.getvalue()


def _to_unicode(glyphs: dict[int, str]) -> bytes:
    """The ``ToUnicode`` CMap from each glyph id to the character it shows (§9.10.3)."""
    lines = [
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
        "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange",
    ]  # fmt: skip
    pairs = sorted(glyphs.items())
    for start in range(0, len(pairs), 100):  # at most 100 entries a block
        block = pairs[start : start + 100]
        lines.append(f"{len(block)} beginbfchar")
        lines += [f"<{g:04X}> <{c.encode('utf-16-be').hex().upper()}>" for g, c in block]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


def _embed_image(out: _Objects, raster: Raster) -> int:
    rows, cols = raster.shape
    gray = raster.pixels.shape[2] == 1
    space = "/DeviceGray" if gray else "/DeviceRGB"
    mask = b""
    if raster.alpha is not None:
        soft = out.add_stream(
            b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8" % (cols, rows),
            raster.alpha.tobytes(),
        )
        mask = b" /SMask %d 0 R" % soft
    return out.add_stream(
        f"/Type /XObject /Subtype /Image /Width {cols} /Height {rows} /ColorSpace {space} "
        f"/BitsPerComponent 8".encode()
        + mask,
        raster.pixels.tobytes(),
    )

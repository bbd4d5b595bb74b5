"""Tests for optvol.core.reports.markdown and optvol.core.reports.pdf."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pypdf
import pytest

from optvol.core.reports.document import Bullets, Figure, Paragraph, Report, Section, Table
from optvol.core.reports.markdown import render_markdown
from optvol.core.reports.pdf import write_pdf
from optvol.core.reports.plotting import figure, save_png

MODELS = ("gru", "practitioner_bs_mid_iv", "prev_mid", "bs_iv_surface", "ridge", "naive")
METRICS = ("rmse", "mae", "mape %", "bias", "n")
PDFTOPPM = shutil.which("pdftoppm")
needs_pdftoppm = pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm is not installed")
PAGE_WIDTH_IN, MARGIN_IN = 8.27, 0.75


def write_png(path: Path) -> Path:
    fig = figure(6.0, 3.0)
    ax = fig.add_subplot()
    ax.plot(np.arange(10), np.arange(10) ** 2, label="rmse")
    ax.legend()
    return save_png(fig, path)


def metrics_table() -> Table:
    rows = tuple(
        (m, f"{0.1 + i / 7:.4f}", f"{0.08 + i / 9:.4f}", f"{3 + i:.2f}", f"{i / 100:+.4f}", "1,024")
        for i, m in enumerate(MODELS)
    )
    return Table(("model", *METRICS), rows, "Test errors by model", frozenset(METRICS))


def realistic_report(root: Path) -> Report:
    png = write_png(root / "plots" / "rmse.png")
    return Report(
        "optvol: SPY option pricing report",
        "Quotes 2024-01-02 to 2024-03-28; test split from 2024-03-01",
        (
            Section("Data", (Paragraph("Quotes are cleaned, then split by date. " * 12),)),
            Section(
                "Results",
                (
                    metrics_table(),
                    Bullets(("gru wins overall", "practitioner_bs_mid_iv wins deep in the money")),
                ),
            ),
            Section(
                "Plots", (Figure(png, "RMSE by model"), Paragraph("Errors grow with maturity."))
            ),
        ),
    )


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def render_pages(pdf: Path, out: Path, dpi: int, *args: str) -> list[Path]:
    out.mkdir()
    subprocess.run([PDFTOPPM, "-png", "-r", str(dpi), *args, str(pdf), str(out / "p")], check=True)
    return sorted(out.glob("p-*.png"))


def assert_right_margin_blank(pdf: Path, out: Path) -> None:
    """Every page, rendered at 50 dpi, has no ink right of the text width (1.5 px slack)."""
    pages = render_pages(pdf, out, 50, "-gray")
    assert pages
    for png in pages:
        image = matplotlib.image.imread(png)
        assert image.shape[1] == pytest.approx(PAGE_WIDTH_IN * 50, abs=1)
        margin = image[:, int(np.ceil((PAGE_WIDTH_IN - MARGIN_IN) * 50 + 1.5)) :]
        assert margin.min() > 0.9, f"ink in the right margin of {png.name}"


# --- Markdown ---------------------------------------------------------------------------


def test_markdown_structure_and_tables(tmp_path: Path) -> None:
    pipes = Table(
        ("name", "value"), (("a|b", "1"), ("two\nlines", "2")), numeric=frozenset({"value"})
    )
    report = Report(
        "Report *one*",
        "A subtitle",
        (
            Section("First", (Paragraph("# not a heading\npractitioner_bs_mid_iv is _best_"),)),
            Section("Second", (metrics_table(), Bullets(("one", "- two")), pipes)),
        ),
    )
    text = render_markdown(report, tmp_path)
    lines = text.splitlines()
    assert lines[0] == r"# Report \*one\*"
    assert lines[2] == "*A subtitle*"
    assert [line for line in lines if line.startswith("## ")] == ["## First", "## Second"]
    assert r"\# not a heading" in lines
    assert r"practitioner_bs_mid_iv is \_best\_" in lines
    assert "- one" in lines and r"- \- two" in lines
    assert lines.index("*Test errors by model*") < lines.index(
        next(x for x in lines if "rmse" in x)
    )
    header = next(line for line in lines if line.startswith("| model"))
    assert [c.strip() for c in header.strip("|").split("|")] == ["model", *METRICS]
    separator = lines[lines.index(header) + 1].strip("|").split("|")
    assert [c.strip()[0] + c.strip()[-1] for c in separator] == [":-"] + ["-:"] * 5
    assert any(re.fullmatch(r"\| gru\s+\| 0\.1000 \|.*\| 1,024 \|", line) for line in lines)
    assert any(re.fullmatch(r"\| a\\\|b\s+\|\s+1 \|", line) for line in lines)
    assert any(re.fullmatch(r"\| two lines \|\s+2 \|", line) for line in lines)
    assert text.endswith("|\n") and not text.endswith("\n\n")
    assert render_markdown(report, tmp_path) == text


def test_markdown_figure_link_is_relative_to_the_directory(tmp_path: Path) -> None:
    png = write_png(tmp_path / "plots" / "x.png")
    reports = tmp_path / "reports"
    report = Report("T", "", (Section("S", (Figure(png, "A [chart]"),)),))
    text = render_markdown(report, reports)
    link = re.search(r"^!\[A \\\[chart\\\]\]\((.+)\)$", text, re.M).group(1)
    assert link == "../plots/x.png"
    assert (reports / link).resolve() == png.resolve()
    assert text.endswith(")\n\n*A [chart]*\n")


def test_markdown_missing_figure_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "plots" / "missing.png"
    report = Report("T", "", (Section("S", (Figure(missing, "gone"),)),))
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        render_markdown(report, tmp_path)


# --- PDF --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def realistic_pdf(tmp_path_factory) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("report")
    path = root / "reports" / "report.pdf"
    return path, write_pdf(realistic_report(root), path)


def test_pdf_text_pages_and_footer(realistic_pdf) -> None:
    path, pages = realistic_pdf
    texts = page_texts(path)
    assert len(texts) == pages
    assert pypdf.PdfReader(path).metadata.title == "optvol: SPY option pricing report"
    assert "optvol: SPY option pricing report" in texts[0] and "Data" in texts[0]
    for n, text in enumerate(texts, start=1):
        assert f"page {n} of {pages}" in text
    assert any("practitioner_bs_mid_iv" in t and "0.2429" in t for t in texts)


@needs_pdftoppm
def test_pdf_renders_to_non_blank_pages(realistic_pdf, tmp_path: Path) -> None:
    path, pages = realistic_pdf
    pngs = render_pages(path, tmp_path / "png", 60)
    assert len(pngs) == pages
    for png in pngs:
        image = matplotlib.image.imread(png)[..., :3]
        assert (image < 0.5).mean() > 0.002, f"{png.name} is blank"


def test_pdf_bytes_are_deterministic(tmp_path: Path, monkeypatch) -> None:
    from fontTools.ttLib.tables import _h_e_a_d

    from optvol.core.reports import _pdf_file

    report = realistic_report(tmp_path)
    write_pdf(report, tmp_path / "a.pdf")
    # The second as if in another process a day later: no font subset kept, another time.
    _pdf_file._subset.cache_clear()
    later = _h_e_a_d.timestampNow() + 86_400
    monkeypatch.setattr(_h_e_a_d, "timestampNow", lambda: later)
    write_pdf(report, tmp_path / "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_pdf_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    write_pdf(realistic_report(tmp_path), path)
    before = path.read_bytes()
    missing = tmp_path / "plots" / "missing.png"
    broken = Report("T", "", (Section("S", (Paragraph("text"), Figure(missing, "gone"))),))
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        write_pdf(broken, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots", "report.pdf"]


def test_pdf_long_table_repeats_its_header_on_every_page(tmp_path: Path) -> None:
    rows = tuple((f"row{i:03d}", f"{i * 1.5:.2f}") for i in range(150))
    table = Table(("Contract", "Strike"), rows, "Strikes", frozenset({"Strike"}))
    path = tmp_path / "long.pdf"
    pages = write_pdf(Report("Long", "", (Section("Table", (table,)),)), path)
    texts = page_texts(path)
    assert pages == len(texts) > 1
    spanned = [t for t in texts if re.search(r"row\d{3}", t)]
    assert len(spanned) > 1
    for text in spanned:
        assert "Contract" in text and "Strike" in text
    assert all("Strikes (continued)" in t for t in spanned[1:])
    assert re.findall(r"row(\d{3})", "".join(texts)) == [f"{i:03d}" for i in range(150)]


def test_pdf_long_paragraph_wraps_inside_the_margins(tmp_path: Path) -> None:
    words = [f"{'volatility' if i % 3 else 'iv'}{i}" for i in range(2000)]
    path = tmp_path / "long.pdf"
    pages = write_pdf(Report("Words", "", (Section("Text", (Paragraph(" ".join(words)),)),)), path)
    assert pages > 1
    found = re.findall(r"(?:volatility|iv)(\d+)", " ".join(page_texts(path)))
    assert found == [str(i) for i in range(2000)]  # every word, in order, none cut
    if PDFTOPPM:
        assert_right_margin_blank(path, tmp_path / "png")


def test_pdf_wide_table_fits_the_text_width(tmp_path: Path) -> None:
    columns = tuple(f"forecast horizon {j}" for j in range(12))
    rows = tuple(tuple(f"{-1234.567891 * (i + 1) + j:.6f}" for j in range(12)) for i in range(8))
    table = Table(columns, rows, "Wide", frozenset(columns))
    path = tmp_path / "wide.pdf"
    assert write_pdf(Report("Wide", "", (Section("Table", (table,)),)), path) == 1
    text = page_texts(path)[0]
    assert all(word in text for word in ("forecast", "horizon", "11"))
    if PDFTOPPM:
        assert_right_margin_blank(path, tmp_path / "png")


def test_pdf_text_beyond_ascii_is_extracted_as_written(tmp_path: Path) -> None:
    text = "σ ≤ 0.95 × VIX — λ = 0, δ² • “quoted” café"
    path = tmp_path / "unicode.pdf"
    report = Report("Ratios — σ", "", (Section("Text", (Paragraph(text), Bullets((text,)))),))
    write_pdf(report, path)
    extracted = page_texts(path)[0]
    assert extracted.count(text) == 2 and "Ratios — σ" in extracted
    assert pypdf.PdfReader(path).metadata.title == "Ratios — σ"


def test_pdf_embeds_each_image_at_its_own_pixels_with_its_transparency(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, size=(30, 50, 4), dtype=np.uint8)
    gray = rng.integers(0, 256, size=(20, 40), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    figures = (Figure(tmp_path / "rgba.png", "colour"), Figure(tmp_path / "gray.png", "gray"))
    path = tmp_path / "images.pdf"
    write_pdf(Report("Images", "", (Section("Figures", figures),)), path)
    page = pypdf.PdfReader(path).pages[0]
    objects = page["/Resources"]["/XObject"]
    images = sorted((objects[name].get_object() for name in objects), key=lambda o: o["/Width"])
    assert [(i["/Width"], i["/Height"]) for i in images] == [(40, 20), (50, 30)]
    assert images[0]["/ColorSpace"] == "/DeviceGray" and "/SMask" not in images[0]
    assert np.array_equal(np.frombuffer(images[0].get_data(), np.uint8).reshape(20, 40), gray)
    colour, alpha = images[1], images[1]["/SMask"].get_object()
    assert colour["/ColorSpace"] == "/DeviceRGB"
    pixels = np.frombuffer(colour.get_data(), np.uint8).reshape(30, 50, 3)
    assert np.array_equal(pixels, rgba[:, :, :3])
    assert np.array_equal(np.frombuffer(alpha.get_data(), np.uint8).reshape(30, 50), rgba[:, :, 3])


def test_pdf_characters_without_a_glyph_extract_as_the_replacement_character(
    tmp_path: Path, caplog
) -> None:
    path = tmp_path / "missing.pdf"
    write_pdf(Report("T", "", (Section("S", (Paragraph("x中日y ok"),)),)), path)
    assert "x\ufffd\ufffdy ok" in page_texts(path)[0]
    assert "no glyph for '中'" in caplog.text and "no glyph for '日'" in caplog.text


def test_pdf_embeds_a_16_bit_gray_image_by_its_high_bytes(tmp_path: Path) -> None:
    from PIL import Image

    deep = np.random.default_rng(1).integers(0, 65536, size=(12, 20), dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")  # mode I;16
    path = tmp_path / "deep.pdf"
    write_pdf(Report("T", "", (Section("S", (Figure(tmp_path / "deep.png", "16 bit"),)),)), path)
    (image,) = (
        o.get_object() for o in pypdf.PdfReader(path).pages[0]["/Resources"]["/XObject"].values()
    )
    assert image["/ColorSpace"] == "/DeviceGray"
    embedded = np.frombuffer(image.get_data(), np.uint8).reshape(12, 20)
    assert np.array_equal(embedded, (deep >> 8).astype(np.uint8))

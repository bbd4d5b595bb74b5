"""The option and volatility reports, built from real (small) evaluation documents:
every section, every model, numbers equal to the JSON at the printed precision, the
reading of who wins, the PDF's pages and text, relative images, determinism."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest

from optvol.core.options.evaluation_file import OptionEvaluationFile
from optvol.core.options.report import SECTION_TITLES as OPTION_SECTIONS
from optvol.core.options.report import build_option_report
from optvol.core.reports.files import write_report
from optvol.core.reports.markdown import render_markdown
from optvol.core.volatility.evaluation_file import VolatilityEvaluationFile
from optvol.core.volatility.report import SECTION_TITLES as VOLATILITY_SECTIONS
from optvol.core.volatility.report import build_volatility_report
from optvol_tests.evaluation_fixtures import (
    option_evaluation_document,
    volatility_evaluation_document,
)


def option_report(document: dict, plots_dir: Path):
    """The option report of ``document`` (an edited copy of the JSON), read as a file is."""
    return build_option_report(OptionEvaluationFile.parse(document, "evaluation.json"), plots_dir)


def volatility_report(document: dict, plots_dir: Path):
    """The volatility report of ``document``, read as a file is."""
    evaluation = VolatilityEvaluationFile.parse(document, "volatility_evaluation.json")
    return build_volatility_report(evaluation, plots_dir)


BUILDERS = {"option": option_report, "volatility": volatility_report}
SECTIONS = {"option": OPTION_SECTIONS, "volatility": VOLATILITY_SECTIONS}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def documents(root, one_torch_thread) -> dict[str, dict]:
    """Both evaluation documents as their files hold them (JSON values)."""
    plots = root / "plots"
    return {
        "option": option_evaluation_document(plots).document(),
        "volatility": volatility_evaluation_document(plots).document(),
    }


@pytest.fixture(scope="module")
def written(root, documents) -> dict:
    """Both reports written to ``<root>/reports``."""
    files = {}
    for kind, document in documents.items():
        report = BUILDERS[kind](document, root / "plots")
        files[kind] = write_report(
            report, root / "reports" / f"{kind}.md", root / "reports" / f"{kind}.pdf"
        )
    return files


def caption_starting(text: str, prefix: str) -> str:
    """The italic caption line of ``text`` that starts with ``prefix``."""
    return next(line.strip("*") for line in text.splitlines() if line.startswith(f"*{prefix}"))


def markdown_table(text: str, caption: str) -> list[dict[str, str]]:
    """The rows of the Markdown table under the italic caption ``caption``, as dicts."""
    lines = text.splitlines()
    start = lines.index(f"*{caption}*")
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip("|").split(" | ")])
        elif table:
            break
    header, body = table[0], table[2:]
    return [dict(zip(header, row, strict=True)) for row in body]


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


@pytest.mark.parametrize("kind", ["option", "volatility"])
def test_every_section_is_present_in_order(written, kind):
    text = written[kind].markdown_text
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == list(SECTIONS[kind])
    pdf = pdf_text(written[kind].pdf)
    lines = [line.strip() for line in pdf.splitlines()]
    positions = [lines.index(title) for title in SECTIONS[kind]]
    assert positions == sorted(positions)


def test_option_tables_list_every_model_with_the_json_numbers(written, documents):
    document, text = documents["option"], written["option"].markdown_text
    overall = markdown_table(text, "Every model on the test rows")
    assert [row["model"] for row in overall] == document["models"]
    for row in overall:
        scores = document["overall"][row["model"]]
        assert row["RMSE $"] == f"{scores['rmse']:.4f}"
        assert row["MAE $"] == f"{scores['mae']:.4f}"
        assert row["RMSE/K"] == f"{scores['rmse_over_strike']:.6f}"
        assert row["MdAPE %"] == f"{scores['median_ape_pct']:.2f}"
        assert row["rows"] == f"{document['rows']:,}"
    for side in ("call", "put"):
        table = markdown_table(text, f"{side.title()}s only")
        assert {r["model"]: r["RMSE $"] for r in table} == {
            m: f"{document['by_type'][side][m]['rmse']:.4f}" for m in document["models"]
        }
    caption = "RMSE ($) by moneyness x days to expiry (DTE), one column per model"
    buckets = markdown_table(text, caption)
    assert len(buckets) == len(document["by_bucket"])
    for bucket in document["by_bucket"]:
        (row,) = [
            r for r in buckets if (r["moneyness"], r["DTE"]) == (bucket["moneyness"], bucket["dte"])
        ]
        for model in document["models"]:
            assert row[model] == f"{bucket['metrics'][model]['rmse']:.4f}"


def test_volatility_tables_list_every_model_with_the_json_numbers(written, documents):
    document, text = documents["volatility"], written["volatility"].markdown_text
    for name, window in document["volatility"].items():
        span = f"{window['first_date']} to {window['last_date']}"
        caption = next(
            line.strip("*")
            for line in text.splitlines()
            if line.startswith(f"*Window {name}:") and span in line
        )
        table = markdown_table(text, caption)
        assert [row["model"] for row in table] == window["models"]
        for row in table:
            scores = window["scores"][row["model"]]
            assert row["QLIKE"] == f"{scores['qlike']:.4f}"
            assert row["R2 ln RV"] == f"{scores['r2_log_rv']:.3f}"
            assert row["RMSE vol"] == f"{scores['rmse_vol']:.4f}"
        by_year = markdown_table(text, f"Window {name}: QLIKE by year")
        for row in by_year:
            for model in window["models"]:
                value = window["qlike_by_year"][model].get(row["year"])
                assert row[model] == ("n/a" if value is None else f"{value:.4f}")
    returns = markdown_table(text, "21-day log return forecasts")
    assert [r["model"] for r in returns] == document["returns"]["models"]
    models = markdown_table(text, f"Models and baselines (chosen: {document['chosen_model']})")
    assert sorted(r["model"] for r in models) == sorted(document["models"])


def test_the_summary_says_whether_the_model_wins(documents, root):
    document = copy.deepcopy(documents["option"])
    summary = option_report(document, root / "plots").section("Summary")
    first = summary.blocks[0].text
    verdict = "beats" if document["comparison"]["gru_beats_best_baseline"] else "does not beat"
    assert f"the GRU {verdict} it" in first
    comparison = document["comparison"]

    def summary_with(wins: bool, p_value: float) -> str:
        comparison["gru_beats_best_baseline"], comparison["dm_p_value_vs_best_baseline"] = (
            wins, p_value
        )  # fmt: skip
        return option_report(document, root / "plots").section("Summary").blocks[0].text

    # The verdict says whether the days support it (Diebold-Mariano at 5%).
    assert "the GRU beats it." in summary_with(True, 0.01)
    assert "the GRU beats it, though not significantly." in summary_with(True, 0.3)
    assert "the GRU does not beat it, significantly so." in summary_with(False, 0.01)
    assert "the GRU does not beat it." in summary_with(False, 0.3)

    volatility = copy.deepcopy(documents["volatility"])
    for beats, words in ((True, "it beats HAR"), (False, "it loses to HAR")):
        volatility["comparison"]["beats_har"] = beats
        text = volatility_report(volatility, root / "plots").section("Summary").blocks[0].text
        assert words in text


@pytest.mark.parametrize(
    ("r2", "words"),
    [
        (-0.02, "returns are not predictable beyond the historical mean"),
        (0.004, "too small to call returns predictable"),
        (0.03, "returns are somewhat predictable"),
    ],
)
def test_the_summary_says_plainly_whether_returns_are_predictable(documents, root, r2, words):
    document = copy.deepcopy(documents["volatility"])
    document["returns"]["scores"]["return_restricted"]["r2_vs_historical_mean"] = r2
    summary = volatility_report(document, root / "plots").section("Summary")
    (returns,) = [b.text for b in summary.blocks if b.text.startswith("Returns:")]
    assert words in returns and f"{r2:.3f}" in returns


def test_the_summary_compares_with_vix_and_the_candidates_are_shown(documents, root):
    document = documents["volatility"]
    report = volatility_report(document, root / "plots")
    summary = " ".join(b.text for b in report.section("Summary").blocks)
    ratio = document["comparison"]["qlike_ratio_to_vix"]
    assert "Against VIX/100 as the forecast" in summary and f"{ratio:.3f}" in summary
    text = render_markdown(report, root)
    candidates = document["model"]["candidates"]
    table = markdown_table(
        text,
        next(
            line.strip("*")
            for line in text.splitlines()
            if line.startswith("*The walk-forward's prior, chosen on")
        ),
    )
    assert {row["candidate"] for row in table} == set(candidates["validation_qlike"])
    assert [row["candidate"] for row in table if row["prior"] == "yes"] == [candidates["chosen"]]


def test_where_the_gru_loses_matches_the_buckets(written, documents):
    document = documents["option"]
    best = document["comparison"]["best_baseline"]
    caption = f"The GRU against {best}, bucket by bucket (ratio below 1: the GRU wins)"
    rows = markdown_table(written["option"].markdown_text, caption)
    expected = {
        (b["moneyness"], b["dte"]): "wins"
        if b["metrics"]["gru"]["rmse"] < b["metrics"][best]["rmse"]
        else "loses"
        for b in document["by_bucket"]
    }
    assert {(r["moneyness"], r["DTE"]): r["GRU"] for r in rows} == expected


def test_the_origin_of_the_data_is_stated(documents, root):
    report = option_report(documents["option"], root / "plots")
    assert "The option chain is simulated" in report.section("Summary").blocks[-1].text
    supplied = copy.deepcopy(documents["option"])
    supplied["data"]["sources"][0]["origin"] = "supplied"
    report = option_report(supplied, root / "plots")
    assert not any("simulated" in getattr(b, "text", "") for b in report.section("Summary").blocks)
    volatility = volatility_report(documents["volatility"], root / "plots")
    assert "No market history input is optvol's simulated sample." in [
        getattr(b, "text", "") for b in volatility.section("Data").blocks
    ]


def test_an_evaluation_with_empty_data_and_model_records_still_reports(documents, root):
    document = copy.deepcopy(documents["option"])
    document["data"], document["model"] = {}, {}
    report = option_report(document, root / "plots")
    assert "does not record its source files" in report.section("Data").blocks[0].text
    assert (
        report.section("Model and hyperparameters").blocks[0].text
        == "The evaluation records no model card."
    )


@pytest.mark.parametrize("kind", ["option", "volatility"])
def test_pdf_opens_with_numbered_pages_and_the_numbers(written, documents, kind):
    files = written[kind]
    reader = pypdf.PdfReader(files.pdf)
    assert len(reader.pages) == files.pages
    assert 4 <= files.pages <= 20
    for number, page in enumerate(reader.pages, start=1):
        assert f"page {number} of {files.pages}" in page.extract_text()
    text = pdf_text(files.pdf)
    document = documents[kind]
    if kind == "option":
        assert f"{document['overall']['gru']['rmse']:.4f}" in text
    else:
        assert f"{document['comparison']['qlike']:.4f}" in text
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(files.pdf),
                        str(files.pdf.with_suffix(""))], check=True)  # fmt: skip
        # pdftoppm pads the page number to the digits of the page count (-1, -01).
        (first,) = files.pdf.parent.glob(f"{files.pdf.stem}-*1.png")
        assert first.stat().st_size > 5000


@pytest.mark.parametrize("kind", ["option", "volatility"])
def test_markdown_images_are_relative_links_that_resolve(written, kind):
    files = written[kind]
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", files.markdown_text)
    assert len(links) >= 3
    for link in links:
        assert link.startswith("../plots/") and link.endswith(".png")
        assert (files.markdown.parent / link).is_file()


@pytest.mark.parametrize("kind", ["option", "volatility"])
def test_same_evaluation_same_report(documents, root, tmp_path, kind):
    first = write_report(
        BUILDERS[kind](documents[kind], root / "plots"),
        tmp_path / "a" / "r.md",
        tmp_path / "a" / "r.pdf",
    )
    second = write_report(
        BUILDERS[kind](documents[kind], root / "plots"),
        tmp_path / "b" / "r.md",
        tmp_path / "b" / "r.pdf",
    )
    assert first.markdown.read_text() == second.markdown.read_text()
    assert first.pdf.read_bytes() == second.pdf.read_bytes()


def test_a_missing_plot_leaves_the_previous_report(documents, root, tmp_path):
    plots = Path(shutil.copytree(root / "plots", tmp_path / "plots"))
    md, pdf = tmp_path / "reports" / "r.md", tmp_path / "reports" / "r.pdf"
    write_report(option_report(documents["option"], plots), md, pdf)
    before = md.read_bytes(), pdf.read_bytes()
    (plots / "rmse.png").unlink()
    with pytest.raises(FileNotFoundError, match="rmse.png"):
        write_report(option_report(documents["option"], plots), md, pdf)
    assert (md.read_bytes(), pdf.read_bytes()) == before


def reversed_order(value):
    """``value`` with every dict's keys in reverse order (as built in memory, say)."""
    if isinstance(value, dict):
        return {k: reversed_order(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_order(v) for v in value]
    return value


@pytest.mark.parametrize("kind", ["option", "volatility"])
def test_the_report_does_not_depend_on_the_order_of_dict_keys(documents, root, kind):
    build = BUILDERS[kind]
    first = render_markdown(build(documents[kind], root / "plots"), root / "reports")
    second = render_markdown(
        build(reversed_order(documents[kind]), root / "plots"), root / "reports"
    )
    assert first == second


def test_option_report_with_calls_only_and_a_zero_baseline_error(documents, root):
    document = copy.deepcopy(documents["option"])
    for scores in document["by_type"]["put"].values():
        scores.update(rmse=None, mae=None, rows=0)
    best = document["comparison"]["best_baseline"]
    document["by_bucket"][0]["metrics"][best]["rmse"] = 0.0
    report = option_report(document, root / "plots")
    section = report.section("Where the GRU wins and where it loses")
    assert "no puts among the test rows" in section.blocks[0].text
    (table,) = section.tables()
    assert table.rows[0][table.columns.index("ratio")] == "n/a"


def test_part_simulated_data_is_said_as_such(documents, root):
    document = copy.deepcopy(documents["option"])
    document["data"]["sources"].append({**document["data"]["sources"][0], "origin": "supplied"})
    summary = option_report(document, root / "plots").section("Summary")
    assert summary.blocks[-1].text.startswith("Part of the option chain is simulated")


def test_volatility_report_states_the_adaptive_choice_episodes_years_and_timing(written, documents):
    document, text = documents["volatility"], written["volatility"].markdown_text
    latest = document["adaptive"]["latest"]
    assert f"Served now (after the last refit): {latest['chosen']}" in text
    weights = markdown_table(text, "The combination's weights after the last refit")
    assert {row["member"]: row["weight"] for row in weights} == {
        m: f"{w:.3f}" for m, w in latest["weights"].items()
    }
    chosen = document["chosen_model"]
    tests = document["volatility"]["all_models"]["diebold_mariano_by_year"][chosen]
    yearly = markdown_table(text, caption_starting(text, f"{chosen}: Diebold-Mariano statistic"))
    assert [row["year"] for row in yearly] == sorted(tests)
    for row in yearly:
        test = tests[row["year"]]["vs_har"]
        assert row["DM vs HAR"] == f"{test['statistic']:.2f} (p {test['p_value']:.3f})"
    episodes = markdown_table(text, caption_starting(text, "Named stress episodes"))
    assert {row["episode"] for row in episodes} == set(document["episodes"])
    timing = document["return_timing"]
    verdict = "adds" if timing["gains"] else "loses"
    gain = f"{100 * abs(timing['certainty_equivalent_gain']):.1f}%"
    assert f"the forecast {verdict} {gain} a year" in text


def test_volatility_report_without_the_long_window_or_returns(documents, root):
    document = copy.deepcopy(documents["volatility"])
    del document["volatility"]["without_vix"]
    document["returns"] = None
    report = volatility_report(document, root / "plots")
    assert (root / "plots" / "volatility_qlike_by_year_without_vix.png").exists()
    assert not any("without_vix" in f.path.name for f in report.figures())
    assert not any("without_vix" in t.caption for s in report.sections for t in s.tables())
    returns = report.section("Return forecasts: results")
    assert returns.blocks[0].text == "No date has a return forecast of every model."


def test_volatility_wins_and_losses_follow_the_scores(written, documents):
    document = documents["volatility"]
    caption = next(
        line.strip("*")
        for line in written["volatility"].markdown_text.splitlines()
        if line.startswith("*Every model against every baseline")
    )
    rows = markdown_table(written["volatility"].markdown_text, caption)
    assert rows
    for row in rows:
        window = document["volatility"][row["window"]]
        ours = window["scores"][row["model"]]["qlike"]
        theirs = window["scores"][row["baseline"]]["qlike"]
        assert row["ratio"] == f"{ours / theirs:.3f}"
        by_year = window["qlike_by_year"]
        years = sorted(set(by_year[row["model"]]) & set(by_year[row["baseline"]]))
        lost = sum(by_year[row["model"]][y] >= by_year[row["baseline"]][y] for y in years)
        assert row["years lost"] == f"{lost} of {len(years)}"


@pytest.mark.parametrize(
    ("kept", "candidate", "says"),
    [
        (0.5, 0.5, "50% of it is kept: the share with the lowest validation loss"),
        (0.0, 0.75, "75% was the share with the lowest validation loss"),
        (0.0, 0.0, "0% of it is kept: no share was better than"),
    ],
)
def test_option_report_says_why_the_correction_kept_is_what_it_is(
    documents, root, kept, candidate, says
):
    document = copy.deepcopy(documents["option"])
    shrinkage = document["model"]["metrics"]["shrinkage"]
    shrinkage.update(shrinkage=kept, candidate=candidate)
    section = option_report(document, root / "plots").section("Model and hyperparameters")
    (text,) = [b.text for b in section.blocks if "of it is kept" in getattr(b, "text", "")]
    assert f"{kept:.0%} of it is kept" in text and says in text
    assert ("significantly" in text) == (kept > 0) and ("evidence" in text) == (candidate > kept)
    # A card written before the evidence test has no candidate: nothing is said of it.
    del shrinkage["candidate"]
    section = option_report(document, root / "plots").section("Model and hyperparameters")
    (text,) = [b.text for b in section.blocks if "of it is kept" in getattr(b, "text", "")]
    assert "blocks of validation dates (0% makes" in text
    assert "significantly" not in text and "evidence" not in text


@pytest.mark.parametrize(
    ("clock", "says"),
    [
        ({"share": 0.75, "training_rmse": {}}, "vol moves by 75% of the business-time change"),
        ({"share": 0.0, "training_rmse": {}}, "did not beat calendar time with the anchor rule"),
        (None, None),
    ],
)
def test_option_report_says_on_which_clock_the_anchor_reprices(documents, root, clock, says):
    document = copy.deepcopy(documents["option"])
    if clock is None:  # a card written before the clock: calendar time, nothing said
        del document["model"]["clock"]
    else:
        document["model"]["clock"] = clock
    for refit in document["walk_forward"]["by_refit"]:
        refit["business_time"] = None if clock is None else clock["share"]
    report = option_report(document, root / "plots")
    section = report.section("Model and hyperparameters")
    said = [b.text for b in section.blocks if "business-time" in getattr(b, "text", "")]
    assert len(said) == (clock is not None)
    assert says is None or says in said[0]
    (kept,) = [b.text for b in section.blocks if "of it is kept" in getattr(b, "text", "")]
    anchor = document["model"]["anchor"]["anchor"]
    assert (f"{anchor} on its clock" in kept) == bool(clock and clock["share"])
    section = report.section("How the models are judged")
    (table,) = [t for t in section.tables() if "business time" in t.columns]
    shares = {row[table.columns.index("business time")] for row in table.rows}
    assert shares == {"n/a" if clock is None else f"{clock['share']:.0%}"}

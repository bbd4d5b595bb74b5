"""Tests for optvol.core.volatility.plots (and the shared optvol.core.reports.plotting)."""

from __future__ import annotations

import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from optvol.core.volatility import plots as volatility_plots
from optvol.core.volatility.plots import (
    plot_forecast_vs_realized,
    plot_qlike_by_year,
    plot_return_scatter,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MODELS = ["garch", "har"]


@pytest.fixture(scope="module")
def forecasts() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    dates = pd.bdate_range("2019-01-01", "2021-12-31")
    n = len(dates)
    vol = np.clip(0.15 * np.exp(np.cumsum(rng.normal(0, 0.04, n))), 0.08, 0.8)
    frame = pd.DataFrame({"date": dates, "realized": vol})
    frame["garch"] = frame["realized"].shift(21) * rng.uniform(0.9, 1.1, n)  # NaN at the start
    frame["har"] = frame["realized"].rolling(63).mean().shift(21)
    frame.loc[n - 21 :, "realized"] = np.nan  # the future is not realized yet
    return frame.iloc[::-1].reset_index(drop=True)  # sorted by date before drawing


@pytest.fixture(scope="module")
def returns() -> pd.DataFrame:
    rng = np.random.default_rng(6)
    n = 500
    realized = rng.normal(0.005, 0.05, n)
    return pd.DataFrame(
        {
            "date": pd.bdate_range("2019-01-01", periods=n),
            "realized": realized,
            "garch": np.where(np.arange(n) < 10, np.nan, 0.3 * realized + rng.normal(0, 0.03, n)),
            "har": rng.normal(0.004, 0.002, n),
        }
    )


QLIKE = {
    "garch": {"2019": 0.21, "2020": 0.48, "2021": 0.11},
    "har": {"2021": 0.36, "2019": None, "2020": float("nan")},  # no bar for 2019, 2020
    "gru": {"2020": 0.30},  # no 2019 or 2021 at all
}


def plotters(forecasts, returns):
    """Name -> a call drawing one chart of every kind to a given path."""
    return {
        "forecast_vs_realized": lambda p: plot_forecast_vs_realized(forecasts, MODELS, p),
        "qlike_by_year": lambda p: plot_qlike_by_year(QLIKE, p),
        "return_scatter": lambda p: plot_return_scatter(returns, MODELS, p),
    }


KINDS = ["forecast_vs_realized", "qlike_by_year", "return_scatter"]
# Height and width in pixels at 100 dpi.
SHAPES = {
    "forecast_vs_realized": (500, 1100),
    "qlike_by_year": (500, 800),
    "return_scatter": (560, 840),
}


@pytest.fixture
def drawn(monkeypatch) -> list[Figure]:
    """The figures the charts save, in order, while they are still written as PNGs."""
    figures = []
    original = volatility_plots.save_png

    def recording_save_png(fig, path):
        figures.append(fig)
        return original(fig, path)

    monkeypatch.setattr(volatility_plots, "save_png", recording_save_png)
    return figures


def assert_valid_png(path: Path, shape: tuple[int, int] | None = None) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    if shape is not None:
        assert image.shape[:2] == shape


@pytest.mark.parametrize("kind", KINDS)
def test_writes_a_valid_png_byte_identical_on_rerun(kind, forecasts, returns, tmp_path):
    plot = plotters(forecasts, returns)[kind]
    target = tmp_path / "charts" / f"{kind}.png"  # parent does not exist yet
    assert plot(target) == target
    assert_valid_png(target, SHAPES[kind])
    first = target.read_bytes()
    assert plot(str(target)) == target
    assert target.read_bytes() == first
    assert list(target.parent.iterdir()) == [target]  # no temporary files left


def test_sizes_grow_with_years_and_models_up_to_a_cap(returns, tmp_path):
    def qlike(years: int, models: int) -> dict:
        by_year = {str(2000 + y): 0.1 + 0.01 * y for y in range(years)}
        return {f"m{i}": by_year for i in range(models)}

    # 0.3 inch per bar (at least 2 per year) + 2 inches, between 8 and 10 inches wide.
    for years, models, width in [(3, 1, 800), (3, 7, 830), (6, 5, 1000), (20, 3, 1000)]:
        path = plot_qlike_by_year(qlike(years, models), tmp_path / f"q{years}-{models}.png")
        assert_valid_png(path, (500, width))
    wide = plot_return_scatter(returns, ["garch", "har", "garch"], tmp_path / "s.png")
    assert_valid_png(wide, (560, 1260))  # 4.2 inches a panel


def test_empty_and_unknown_inputs_raise_and_leave_existing_file(forecasts, returns, tmp_path):
    target = tmp_path / "chart.png"
    target.write_bytes(b"previous chart")
    calls = [
        (lambda: plot_forecast_vs_realized(forecasts.iloc[:0], MODELS, target), "no rows"),
        (lambda: plot_forecast_vs_realized(forecasts, [], target), "no models"),
        (
            lambda: plot_forecast_vs_realized(forecasts, ["garch", "egarch", "rv"], target),
            r"no column for the models \['egarch', 'rv'\]",
        ),
        (
            lambda: plot_forecast_vs_realized(forecasts.drop(columns="realized"), MODELS, target),
            "no column",
        ),
        (
            lambda: plot_forecast_vs_realized(
                forecasts.assign(realized=np.nan, garch=np.nan, har=np.nan), MODELS, target
            ),
            "no finite volatility",
        ),
        (
            lambda: plot_forecast_vs_realized(
                forecasts.assign(date=forecasts["date"].where(forecasts.index != 3)),
                MODELS,
                target,
            ),
            "missing dates",
        ),
        (lambda: plot_qlike_by_year({}, target), "no models"),
        (lambda: plot_qlike_by_year({"garch": {}}, target), "no years"),
        (lambda: plot_qlike_by_year({"garch": {"2020": None}}, target), "no finite value"),
        (lambda: plot_return_scatter(returns.iloc[:0], MODELS, target), "no rows"),
        (lambda: plot_return_scatter(returns, [], target), "no models"),
        (lambda: plot_return_scatter(returns, ["naive"], target), r"models \['naive'\]"),
        (
            lambda: plot_return_scatter(returns.assign(garch=np.nan), ["garch"], target),
            "no row has both",
        ),
        (lambda: plot_return_scatter(returns, MODELS, target, max_points=0), "max_points"),
    ]
    for call, message in calls:
        with pytest.raises(ValueError, match=message):
            call()
        assert target.read_bytes() == b"previous chart"
    with pytest.raises(TypeError, match="not the string"):
        plot_return_scatter(returns, "garch", target)
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("kind", KINDS)
def test_failed_save_leaves_existing_file(kind, forecasts, returns, tmp_path, monkeypatch):
    target = tmp_path / "chart.png"
    target.write_bytes(b"previous chart")

    def torn_savefig(self, fname, **kwargs):
        Path(fname).write_bytes(PNG_SIGNATURE + b"half")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", torn_savefig)
    with pytest.raises(OSError, match="disk full"):
        plotters(forecasts, returns)[kind](target)
    assert target.read_bytes() == b"previous chart"
    assert list(tmp_path.iterdir()) == [target]


def test_bad_path_leaves_existing_directory(forecasts, tmp_path):
    target = tmp_path / "chart.png"
    target.mkdir()
    (target / "keep").write_bytes(b"kept")
    with pytest.raises(OSError):
        plot_forecast_vs_realized(forecasts, MODELS, target)
    assert (target / "keep").read_bytes() == b"kept"
    assert sorted(tmp_path.rglob("*")) == [target, target / "keep"]  # no temporary file left


def test_forecast_vs_realized_draws_realized_thick_then_models(forecasts, tmp_path, drawn):
    plot_forecast_vs_realized(forecasts, ["har", "garch"], tmp_path / "f.png")
    (ax,) = drawn[0].axes
    realized, har, garch = ax.get_lines()
    assert realized.get_linewidth() > 2 * har.get_linewidth()
    assert [line.get_label() for line in (har, garch)] == ["har", "garch"]
    by_date = forecasts.sort_values("date")
    np.testing.assert_array_equal(realized.get_ydata(), by_date["realized"].to_numpy())
    np.testing.assert_array_equal(garch.get_ydata(), by_date["garch"].to_numpy())
    assert ax.get_ylabel() == "annualised volatility"
    assert ax.yaxis.get_major_formatter()(0.15, 0) == "15%"
    assert "2019-01-01 to 2021-12-31, 784 dates" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()][1:] == ["har", "garch"]


def test_qlike_by_year_skips_missing_values(tmp_path, drawn):
    plot_qlike_by_year(QLIKE, tmp_path / "q.png")
    (ax,) = drawn[0].axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2019", "2020", "2021"]
    assert ax.get_ylabel() == "mean QLIKE (lower is better)"
    heights = {
        container.get_label(): [round(bar.get_height(), 6) for bar in container]
        for container in ax.containers
    }
    assert heights == {"garch": [0.21, 0.48, 0.11], "har": [0.36], "gru": [0.30]}
    assert all(math.isfinite(patch.get_height()) for patch in ax.patches)
    # One slot per model in each group, in mapping order, kept where a bar is missing.
    centres = {c.get_label(): [b.get_x() + b.get_width() / 2 for b in c] for c in ax.containers}
    slot = 0.8 / 3
    assert centres["garch"] == pytest.approx([-slot, 1 - slot, 2 - slot])
    assert centres["har"] == pytest.approx([2.0])
    assert centres["gru"] == pytest.approx([1 + slot])
    assert ax.get_lines() == []
    assert [p.get_facecolor() for p in ax.containers[2]] == [to_rgba("C2")]


def test_qlike_by_year_draws_lines_beyond_six_years(tmp_path, drawn):
    years = [str(y) for y in range(2002, 2019)]
    qlike = {
        "ridge": {y: 0.1 + 0.01 * i for i, y in enumerate(years)},
        # No 2005 at all, None in 2010, NaN in 2018: no point there, the line is broken.
        "garch": {y: None if y == "2010" else 0.2 for y in years[::-1] if y != "2005"},
        "har": {**{y: 0.3 for y in years}, "2018": float("nan")},
    }
    plot_qlike_by_year(qlike, tmp_path / "q.png")
    fig = drawn[0]
    (ax,) = fig.axes
    assert tuple(fig.get_size_inches()) == (10.0, 5.0)
    assert list(ax.containers) == [] and list(ax.patches) == []
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["ridge", "garch", "har"]
    assert [to_rgba(line.get_color()) for line in lines] == [to_rgba(f"C{i}") for i in range(3)]
    assert all(line.get_marker() == "o" for line in lines)
    assert [t.get_text() for t in ax.get_xticklabels()] == years
    np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(17))
    np.testing.assert_allclose(lines[0].get_ydata(), [0.1 + 0.01 * i for i in range(17)])
    garch = np.full(17, 0.2)
    garch[[years.index("2005"), years.index("2010")]] = np.nan
    np.testing.assert_array_equal(lines[1].get_ydata(), garch)
    np.testing.assert_array_equal(lines[2].get_ydata(), [0.3] * 16 + [np.nan])
    assert ax.get_ylabel() == "mean QLIKE (lower is better)"
    assert ax.get_title() == "Mean QLIKE loss of the volatility forecasts per year"
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["ridge", "garch", "har"]
    # 8 pt or more once the 10 inch chart is shrunk to an A4 text width of 6.8 inches.
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 8 * 10 / 6.8


@pytest.mark.parametrize(("years", "bars"), [(6, True), (7, False)])
def test_qlike_by_year_switches_from_bars_to_lines_after_six_years(years, bars, tmp_path, drawn):
    qlike = {"a": {str(2010 + y): 0.2 for y in range(years)}, "b": {"2010": 0.1}}
    plot_qlike_by_year(qlike, tmp_path / "q.png")
    (ax,) = drawn[0].axes
    assert len(ax.containers) == (2 if bars else 0)
    assert len(ax.get_lines()) == (0 if bars else 2)
    assert len(ax.get_xticklabels()) == years


def test_return_scatter_hit_rate_and_points(tmp_path, drawn):
    realized = np.array([0.02, -0.01, 0.03, -0.04, 0.05, np.nan, 0.01, -0.02])
    frame = pd.DataFrame(
        {
            "date": pd.bdate_range("2020-01-01", periods=8)[::-1],
            "realized": realized,
            # Signs agree on 3 of the 4 rows where both are finite.
            "a": [0.01, -0.02, -0.01, -0.03, np.nan, 0.02, np.nan, np.nan],
            "b": -realized,  # agrees nowhere, 7 finite rows
        }
    )
    plot_return_scatter(frame, ["a", "b"], tmp_path / "s.png")
    fig = drawn[0]
    a, b = fig.axes
    assert a.get_title() == "a\nhit rate 75.0%, n=4"
    assert b.get_title() == "b\nhit rate 0.0%, n=7"
    assert len(a.collections[0].get_offsets()) == 4
    assert len(b.collections[0].get_offsets()) == 7
    assert a.xaxis.get_major_formatter()(0.05, 0).startswith("5")
    assert a.xaxis.get_major_formatter()(0.05, 0).endswith("%")
    diagonal = a.get_lines()[0]
    np.testing.assert_allclose(diagonal.get_xdata(), diagonal.get_ydata())
    assert diagonal.get_linestyle() == "--"
    assert "2020-01-01 to 2020-01-10, 8 dates" in fig.get_suptitle()


def test_return_scatter_subsample_is_deterministic(returns, tmp_path, drawn):
    a = plot_return_scatter(returns, MODELS, tmp_path / "a.png", max_points=50)
    b = plot_return_scatter(returns, MODELS, tmp_path / "b.png", max_points=50)
    full = plot_return_scatter(returns, MODELS, tmp_path / "full.png")
    assert_valid_png(a)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != full.read_bytes()
    sampled = drawn[0]
    # At most 50 rows drawn, the same rows in every panel; titles count all rows.
    har_points = sampled.axes[1].collections[0].get_offsets()
    assert len(har_points) == 50
    assert len(sampled.axes[0].collections[0].get_offsets()) <= 50
    assert sampled.axes[1].get_title().endswith("n=500")
    assert "50 of 500 rows" in sampled.get_suptitle()


def test_single_row(tmp_path):
    one = pd.DataFrame({"date": [pd.Timestamp("2020-03-02")], "realized": [0.2], "m": [0.25]})
    assert_valid_png(plot_forecast_vs_realized(one, ["m"], tmp_path / "f.png"))
    assert_valid_png(plot_return_scatter(one, ["m"], tmp_path / "s.png"))
    assert_valid_png(plot_qlike_by_year({"m": {"2020": 0.1}}, tmp_path / "q.png"))


def test_concurrent_plots_match_sequential(forecasts, returns, tmp_path):
    funcs = plotters(forecasts, returns)
    expected = {kind: funcs[kind](tmp_path / f"seq-{kind}.png").read_bytes() for kind in KINDS}
    jobs = [(kind, i) for kind in KINDS for i in range(3)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        paths = list(pool.map(lambda job: funcs[job[0]](tmp_path / f"{job[0]}-{job[1]}.png"), jobs))
    for (kind, _), path in zip(jobs, paths, strict=True):
        assert path.read_bytes() == expected[kind]


def test_no_pyplot():
    code = (
        "import sys, tempfile, pathlib, pandas as pd\n"
        "from optvol.core.volatility import plots as vp\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "f = pd.DataFrame({'date': pd.bdate_range('2020-01-01', periods=30),"
        " 'realized': 0.2, 'm': 0.01})\n"
        "vp.plot_forecast_vs_realized(f, ['m'], d / 'f.png')\n"
        "vp.plot_qlike_by_year({'m': {'2020': 0.1}}, d / 'q.png')\n"
        "vp.plot_return_scatter(f, ['m'], d / 's.png')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "assert 'dagster' not in sys.modules, 'dagster imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

"""Tests for optvol.core.options.plots."""

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
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from optvol.core.options import plots as option_plots
from optvol.core.options.evaluation_file import Hedging, OutOfSampleScores, Regression
from optvol.core.options.hedging import HEDGE_DELTAS, HedgePairs, hedging_gains
from optvol.core.options.metrics import DTE_BUCKETS, MONEYNESS_BUCKETS, evaluate_models
from optvol.core.options.plots import (
    plot_error_over_time,
    plot_hedging_gains,
    plot_loss_curves,
    plot_predicted_vs_actual,
    plot_rmse_by_bucket,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    n = 600
    s = 100 * np.exp(rng.normal(0, 0.01, n))
    rows = pd.DataFrame(
        {
            "quote_date": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 12, n), "D"),
            "option_type": pd.Categorical(rng.choice(["C", "P"], n)),
            "strike": s * np.exp(rng.normal(0, 0.12, n)),
            "underlying": s,
            "dte_days": rng.integers(0, 200, n),
            "mid": rng.uniform(0.05, 20, n),
        }
    )
    mid = rows["mid"].to_numpy()
    preds = {"gru": mid + rng.normal(0, 0.2, n), "prev_mid": mid + rng.normal(0, 0.6, n)}
    return rows, preds


@pytest.fixture(scope="module")
def evaluation(data) -> OutOfSampleScores:
    return OutOfSampleScores.model_validate(evaluate_models(*data))


@pytest.fixture(scope="module")
def empty_evaluation(data) -> OutOfSampleScores:
    rows, _ = data
    return OutOfSampleScores.model_validate(
        evaluate_models(rows.iloc[:0], {"gru": [], "prev_mid": []})
    )


def bucket_scores(models: list[str], buckets: list[dict]) -> OutOfSampleScores:
    """Scores holding only ``buckets`` of ``models``, as the bucket chart reads them."""
    return OutOfSampleScores.model_validate(
        {"rows": 0, "models": models, "first_date": None, "last_date": None, "dates": 0,
         "overall": {}, "by_type": {}, "by_bucket": buckets, "by_date": {"date": [], "rmse": {}}}
    )  # fmt: skip


HISTORY = [
    {"epoch": e, "train_loss": 1.0 / (e + 1), "val_loss": 1.0 / (e + 1) + 0.05 * (e - 6) ** 2}
    for e in range(15)
]


def plotters(data, evaluation):
    """Name -> a call drawing one chart of every kind to a given path."""
    rows, preds = data
    mid = rows["mid"].to_numpy()
    return {
        "rmse_by_bucket": lambda p: plot_rmse_by_bucket(evaluation, p),
        "predicted_vs_actual": lambda p: plot_predicted_vs_actual(mid, preds, p, max_points=200),
        "loss_curves": lambda p: plot_loss_curves(HISTORY, p, ylabel="MSE (scaled price²)"),
        "error_over_time": lambda p: plot_error_over_time(evaluation, p),
        "hedging": lambda p: plot_hedging_gains(Hedging.model_validate(HEDGING), p),
    }


KINDS = ["rmse_by_bucket", "predicted_vs_actual", "loss_curves", "error_over_time", "hedging"]
HEDGING = hedging_gains(
    HedgePairs(
        change_value=np.array([1.3, -2.0, 0.5, 3.0, -1.0, 0.2]),
        change_spot=np.array([2.0, -3.0, 1.0, -4.0, 2.0, 1.0]),
        is_call=np.array([True, True, True, False, False, False]),
        bs_delta=np.array([0.5, 0.7, 0.05, -0.4, -0.5, -0.95]),
        deltas={name: np.array([0.45, 0.65, 0.04, -0.5, -0.55, -0.9]) + 0.01 * i
                for i, name in enumerate(HEDGE_DELTAS)},
    )
)  # fmt: skip


@pytest.fixture
def drawn(monkeypatch) -> list[Figure]:
    """The figures the charts save, in order, while they are still written as PNGs."""
    figures = []
    original = option_plots.save_png

    def recording_save_png(fig, path):
        figures.append(fig)
        return original(fig, path)

    monkeypatch.setattr(option_plots, "save_png", recording_save_png)
    return figures


def panels(fig: Figure) -> list[Axes]:
    """The drawn panels of a figure: visible axes with their axis lines on."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison]


def bars(ax: Axes) -> dict[str, list[float]]:
    """Model -> the heights of its bars in a panel, left to right."""
    return {c.get_label(): [bar.get_height() for bar in c] for c in ax.containers}


def tick_texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels()]


def bucket(moneyness: str, dte: str, rows: int, **rmse: float | None) -> dict:
    return {
        "moneyness": moneyness,
        "dte": dte,
        "rows": rows,
        "metrics": {
            model: {
                "rows": rows,
                "rmse": value,
                "mae": value,
                "rmse_over_strike": None,
                "median_ape_pct": None,
                "rows_ape": 0,
            }
            for model, value in rmse.items()
        },  # fmt: skip
    }


def assert_valid_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


@pytest.mark.parametrize("kind", KINDS)
def test_writes_a_valid_png_byte_identical_on_rerun(kind, data, evaluation, tmp_path):
    plot = plotters(data, evaluation)[kind]
    target = tmp_path / "charts" / f"{kind}.png"  # parent does not exist yet
    assert plot(target) == target
    assert_valid_png(target)
    first = target.read_bytes()
    plot(str(target))
    assert target.read_bytes() == first
    assert list(target.parent.iterdir()) == [target]  # no temporary files left


def test_empty_inputs_raise_and_leave_existing_file(empty_evaluation, tmp_path):
    target = tmp_path / "chart.png"
    target.write_bytes(b"previous chart")
    calls = [
        (lambda: plot_rmse_by_bucket(empty_evaluation, target), "no rows"),
        (lambda: plot_error_over_time(empty_evaluation, target), "no dates"),
        (
            lambda: plot_predicted_vs_actual(np.array([]), {"gru": np.array([])}, target),
            "non-empty",
        ),
        (lambda: plot_predicted_vs_actual(np.array([1.0]), {}, target), "at least one model"),
        (lambda: plot_loss_curves([], target), "empty training history"),
    ]
    for call, message in calls:
        with pytest.raises(ValueError, match=message):
            call()
        assert target.read_bytes() == b"previous chart"
    assert list(tmp_path.iterdir()) == [target]


def test_failed_save_leaves_existing_file(evaluation, tmp_path, monkeypatch):
    target = tmp_path / "chart.png"
    target.write_bytes(b"previous chart")

    def torn_savefig(self, fname, **kwargs):
        Path(fname).write_bytes(PNG_SIGNATURE + b"half")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", torn_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot_rmse_by_bucket(evaluation, target)
    assert target.read_bytes() == b"previous chart"
    assert list(tmp_path.iterdir()) == [target]


def test_predicted_vs_actual_rejects_bad_predictions(data, tmp_path):
    rows, preds = data
    mid = rows["mid"].to_numpy()
    target = tmp_path / "scatter.png"
    with pytest.raises(ValueError, match="model 'gru': predictions shape"):
        plot_predicted_vs_actual(mid, {"gru": mid[:-1]}, target)
    with pytest.raises(ValueError, match="model 'bad': predictions are not all finite"):
        plot_predicted_vs_actual(mid, {"bad": np.where(mid > 5, np.nan, mid)}, target)
    with pytest.raises(ValueError, match="max_points"):
        plot_predicted_vs_actual(mid, preds, target, max_points=0)
    assert not target.exists()


def test_predicted_vs_actual_subsample_is_deterministic(data, tmp_path):
    rows, preds = data
    mid = rows["mid"].to_numpy()
    # Non-positive and sub-cent predictions must not break the log axes.
    preds = {"gru": preds["gru"], "floored": np.where(mid > 10, mid, -1.0)}
    a = plot_predicted_vs_actual(mid, preds, tmp_path / "a.png", max_points=50)
    b = plot_predicted_vs_actual(mid, preds, tmp_path / "b.png", max_points=50)
    full = plot_predicted_vs_actual(mid, preds, tmp_path / "full.png")
    assert_valid_png(a)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != full.read_bytes()


def test_loss_curves_mark_the_best_validation_epoch(tmp_path, monkeypatch):
    marked = []
    original = Axes.axvline

    def recording_axvline(self, x=0, *args, **kwargs):
        marked.append(x)
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(Axes, "axvline", recording_axvline)
    shuffled = HISTORY[7:] + HISTORY[:7]  # sorted by epoch before drawing
    plot_loss_curves(shuffled, tmp_path / "loss.png")
    assert marked == [6]


def test_loss_curves_without_validation(tmp_path, monkeypatch):
    marked = []
    monkeypatch.setattr(Axes, "axvline", lambda self, *a, **k: marked.append(a))
    history = [{"epoch": e, "train_loss": 2.0 - 0.1 * e, "val_loss": None} for e in range(5)]
    assert_valid_png(plot_loss_curves(history, tmp_path / "loss.png"))
    assert marked == []


def test_rmse_by_bucket_draws_a_panel_per_dte_bucket_in_bucket_order(evaluation, tmp_path, drawn):
    order = np.random.default_rng(0).permutation(len(evaluation.by_bucket))
    shuffled = evaluation.model_copy(update={"by_bucket": [evaluation.by_bucket[i] for i in order]})
    assert [b.dte for b in shuffled.by_bucket[:4]] != list(DTE_BUCKETS)
    ordered = plot_rmse_by_bucket(evaluation, tmp_path / "ordered.png")
    assert plot_rmse_by_bucket(shuffled, tmp_path / "shuffled.png").read_bytes() == (
        ordered.read_bytes()
    )
    fig = drawn[1]
    assert tuple(fig.get_size_inches()) == (10.0, 7.5)
    axes = panels(fig)
    assert [ax.get_title() for ax in axes] == [f"{d} days to expiry" for d in DTE_BUCKETS]
    grid = [(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start) for ax in axes]
    assert grid == [(0, 0), (0, 1), (1, 0), (1, 1)]
    cells = {(b.dte, b.moneyness): b for b in evaluation.by_bucket}
    for ax, dte in zip(axes, DTE_BUCKETS, strict=True):
        assert tick_texts(ax) == [f"{m}\nn={cells[dte, m].rows:,}" for m in MONEYNESS_BUCKETS]
        heights = bars(ax)
        assert list(heights) == ["gru", "prev_mid"]
        for i, model in enumerate(["gru", "prev_mid"]):
            expected = [cells[dte, m].metrics[model].rmse for m in MONEYNESS_BUCKETS]
            assert heights[model] == pytest.approx(expected)
            assert {bar.get_facecolor() for bar in ax.containers[i]} == {to_rgba(f"C{i}")}
        assert ax.get_yscale() == "log"
        # 8 pt or more once the 10 inch chart is shrunk to an A4 text width of 6.8 inches.
        assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 8 * 10 / 6.8
    assert [ax.get_ylabel() for ax in axes] == [
        "RMSE ($, log scale)",
        "",
        "RMSE ($, log scale)",
        "",
    ]
    assert [ax.get_xlabel() != "" for ax in axes] == [False, False, True, True]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["gru", "prev_mid"]
    assert fig.get_suptitle().endswith("\n2024-03-01 to 2024-03-12, 600 rows")


def test_rmse_by_bucket_shows_only_the_buckets_present(tmp_path, drawn):
    evaluation = bucket_scores(
        ["slow", "fast"],
        [
            bucket("itm", ">90", 7, slow=8.0, fast=0.4),
            bucket("atm", "<=7", 1234, slow=2.0, fast=0.2),
            bucket("deep_otm", ">90", 5, slow=3.0, fast=0.3),
            bucket("otm", "31-90", 9, slow=None, fast=0.5),
        ],
    )
    plot_rmse_by_bucket(evaluation, tmp_path / "rmse.png")
    fig = drawn[0]
    axes = panels(fig)
    assert [ax.get_title() for ax in axes] == [
        "<=7 days to expiry",
        "31-90 days to expiry",
        ">90 days to expiry",
    ]
    assert [tick_texts(ax) for ax in axes] == [
        ["atm\nn=1,234"],
        ["otm\nn=9"],
        ["deep_otm\nn=5", "itm\nn=7"],
    ]
    assert bars(axes[0]) == {"slow": [2.0], "fast": [0.2]}
    assert math.isnan(bars(axes[1])["slow"][0])  # no RMSE, no bar
    assert bars(axes[2]) == {"slow": [3.0, 8.0], "fast": [0.3, 0.4]}
    for ax in axes:
        assert ax.containers[0].patches[0].get_facecolor() == to_rgba("C0")
        assert ax.containers[1].patches[0].get_facecolor() == to_rgba("C1")
    # Panels with none below them are labelled; the legend fills the spare fourth slot.
    assert [ax.get_xlabel() != "" for ax in axes] == [False, True, True]
    assert fig.legends == []
    (spare,) = [ax for ax in fig.axes if ax not in axes and ax.get_visible()]
    assert [t.get_text() for t in spare.get_legend().get_texts()] == ["slow", "fast"]
    assert (spare.get_subplotspec().rowspan.start, spare.get_subplotspec().colspan.start) == (1, 1)
    low, high = axes[0].get_ylim()
    assert low < 0.2 and high > 8.0
    assert fig.get_suptitle() == "Price RMSE by moneyness and days to expiry"  # no span given


def test_rmse_by_bucket_single_panel_linear_when_an_rmse_is_zero(tmp_path, drawn):
    evaluation = bucket_scores(
        ["exact", "noisy"],
        [
            bucket("otm", "8-30", 3, exact=0.0, noisy=1.5),
            bucket("deep_itm", "8-30", 4, exact=0.0, noisy=2.5),
        ],
    )
    plot_rmse_by_bucket(evaluation, tmp_path / "rmse.png")
    fig = drawn[0]
    (ax,) = panels(fig)
    assert tuple(fig.get_size_inches()) == (10.0, 4.5)
    assert tick_texts(ax) == ["otm\nn=3", "deep_itm\nn=4"]
    assert ax.get_yscale() == "linear"
    assert ax.get_ylabel() == "RMSE ($)"
    assert ax.get_ylim()[0] == 0.0
    assert len(fig.legends) == 1


def test_single_model_single_date(data, tmp_path):
    rows, preds = data
    day = rows[rows["quote_date"] == rows["quote_date"].min()]
    ev = OutOfSampleScores.model_validate(evaluate_models(day, {"gru": preds["gru"][day.index]}))
    assert_valid_png(plot_error_over_time(ev, tmp_path / "t.png"))
    assert_valid_png(plot_rmse_by_bucket(ev, tmp_path / "b.png"))


def test_concurrent_plots_match_sequential(data, evaluation, tmp_path):
    funcs = plotters(data, evaluation)
    expected = {kind: funcs[kind](tmp_path / f"seq-{kind}.png").read_bytes() for kind in KINDS}
    jobs = [(kind, i) for kind in KINDS for i in range(2)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        paths = list(pool.map(lambda job: funcs[job[0]](tmp_path / f"{job[0]}-{job[1]}.png"), jobs))
    for (kind, _), path in zip(jobs, paths, strict=True):
        assert path.read_bytes() == expected[kind]


def test_no_pyplot_and_no_dagster_import():
    code = (
        "import sys, optvol.core.options.metrics, optvol.core.options.plots; "
        "assert 'matplotlib.pyplot' not in sys.modules; assert 'dagster' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_iv_dynamics_scatter_with_its_line(tmp_path):
    from optvol.core.options.plots import plot_iv_dynamics

    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.01, 8000)
    pairs = pd.DataFrame(
        {"underlying_return": x, "iv_change": -1.2 * x + rng.normal(0, 0.01, 8000)}
    )
    pairs.loc[0, "iv_change"] = np.nan  # left out
    fit = Regression(slope=-1.2, intercept=0.0, r2=0.59, residual_sd=0.01, n=7999)
    path = plot_iv_dynamics(pairs, fit, tmp_path / "iv.png", max_points=500)
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 300
    assert (
        path.read_bytes() == plot_iv_dynamics(pairs, fit, tmp_path / "again.png", 500).read_bytes()
    )
    with pytest.raises(ValueError, match="no near-the-money contract pair"):
        plot_iv_dynamics(pairs.iloc[:1], fit, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_hedging_gains_draw_a_bar_per_delta_in_every_bucket_of_calls_and_puts(tmp_path, drawn):
    plot_hedging_gains(Hedging.model_validate(HEDGING), tmp_path / "hedging.png")
    calls, puts = panels(drawn[0])
    for ax, kind in ((calls, "call"), (puts, "put")):
        cells = [b for b in HEDGING["by_bucket"] if b["type"] == kind]
        heights = bars(ax)
        assert list(heights) == list(HEDGE_DELTAS)
        for name in HEDGE_DELTAS:
            gains = [b["gain_vs_bs_delta"][name] for b in cells]
            expected = [np.nan if g is None else 100 * g for g in gains]  # None: no bar
            np.testing.assert_allclose(heights[name], expected)
        assert [t.split("\n")[1] for t in tick_texts(ax)] == [f"{b['pairs']:,}" for b in cells]
    title = drawn[0].get_suptitle()
    assert f"{HEDGING['pairs']:,} pairs" in title
    assert f"gru {100 * HEDGING['gain_vs_bs_delta']['gru']:.1f}%" in title
    with pytest.raises(ValueError, match="no hedge pairs"):
        plot_hedging_gains(
            Hedging.model_validate({**HEDGING, "by_bucket": []}), tmp_path / "none.png"
        )

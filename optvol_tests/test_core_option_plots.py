"""Tests for optvol.core.option_plots."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from optvol.core.option_metrics import evaluate_models
from optvol.core.option_plots import (
    plot_error_over_time,
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
def evaluation(data) -> dict:
    return evaluate_models(*data)


@pytest.fixture(scope="module")
def empty_evaluation(data) -> dict:
    rows, _ = data
    return evaluate_models(rows.iloc[:0], {"gru": [], "prev_mid": []})


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
    }


KINDS = ["rmse_by_bucket", "predicted_vs_actual", "loss_curves", "error_over_time"]


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


def test_single_model_single_date(data, tmp_path):
    rows, preds = data
    day = rows[rows["quote_date"] == rows["quote_date"].min()]
    ev = evaluate_models(day, {"gru": preds["gru"][day.index]})
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
        "import sys, optvol.core.option_metrics, optvol.core.option_plots; "
        "assert 'matplotlib.pyplot' not in sys.modules; assert 'dagster' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

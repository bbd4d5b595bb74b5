"""Small but real evaluation documents, made by the pipeline's own core code on test data,
so the report tests read exactly what the evaluation assets write (through a JSON round
trip with sorted keys and the typed file's validation, as the JSON IO manager does).

Each run is made once per test session and handed out as copies (its plots copied into
the directory asked for): the runs are deterministic, and several modules read them. Under
pytest-xdist the first worker to need a run makes it and leaves it, pickled, in
:data:`SHARED_DIR` (set by the conftest), and the other workers read it there."""

from __future__ import annotations

import atexit
import copy
import functools
import json
import pickle
import shutil
import tempfile
from pathlib import Path

from optvol.core.common.atomic import atomic_open
from optvol.core.common.directory_lock import directory_lock
from optvol.core.common.parquet import with_notes
from optvol.core.common.versioned_json import VersionedFile
from optvol.core.options.evaluation_file import OptionEvaluationFile
from optvol.core.options.ingest.clean import OptionCleaningReport
from optvol.core.volatility.evaluation_file import VolatilityEvaluationFile

SOURCE = {
    "label": "synthetic_chain.txt",
    "format": "optionsdx",
    "compressed_bytes": 12345,
    "origin": "simulated",
    "description": "written by the test suite",
}


def as_written(document: VersionedFile) -> VersionedFile:
    """``document`` as the JSON IO manager writes and reads it back."""
    return type(document).parse(json.loads(document.text()), "the document as written")


def option_evaluation_document(plots_dir: Path) -> OptionEvaluationFile:
    """A tiny GRU trained and evaluated on a synthetic chain, its plots in ``plots_dir``."""
    return option_run(plots_dir)[2]


# A directory every xdist worker of the session sees, or None (one process: nothing to share).
SHARED_DIR: Path | None = None


def _once(run):
    """``run(plots_dir)`` made once per session; each call gets copies of its results and
    of its plots in its own ``plots_dir``."""

    @functools.cache
    def made() -> tuple[tuple, Path]:
        if SHARED_DIR is not None:
            return _made_by_one_worker(run, SHARED_DIR / run.__name__)
        plots = Path(tempfile.mkdtemp(prefix=f"optvol-{run.__name__}-"))
        atexit.register(shutil.rmtree, plots, ignore_errors=True)
        return run(plots), plots

    @functools.wraps(run)
    def copied(plots_dir: Path):
        results, plots = made()
        shutil.copytree(plots, plots_dir, dirs_exist_ok=True)
        return copy.deepcopy(results)

    return copied


def _made_by_one_worker(run, folder: Path) -> tuple[tuple, Path]:
    """``run``'s results and plots folder, made under ``folder`` by whichever worker gets
    there first while the others wait on the lock, then read from its pickle."""
    plots, results = folder / "plots", folder / "results.pickle"
    with directory_lock(folder, f"evaluation run {run.__name__}", timeout=1800):
        if not results.exists():
            made = run(plots)
            with atomic_open(results) as handle:
                handle.write(pickle.dumps(made))
    return pickle.loads(results.read_bytes()), plots


@_once
def option_run(plots_dir: Path):
    """``(quotes, model, evaluation document)`` of a tiny GRU on a synthetic chain, walked
    forward with three refits."""
    from optvol.core.options.evaluation import evaluate_option_models, write_evaluation_plots
    from optvol.core.options.gru.config import TrainingConfig
    from optvol.core.options.samples import SampleConfig, build_samples
    from optvol.core.options.walk_forward import train_option_model
    from optvol_tests.builders import option_quotes_frame

    quotes = option_quotes_frame(n_days=50)
    cleaning = OptionCleaningReport(
        rows_in=len(quotes) + 7, rows_invalid_key=3, duplicate_rows=4, rows_out=len(quotes),
        usable_rows=len(quotes), flags={"flag_nonpositive_bid": 0},
    )  # fmt: skip
    source = {**SOURCE, "input_rows": len(quotes) // 2, "quote_rows": len(quotes)}
    with_notes(quotes, {"sources": [source], "cleaning": cleaning.as_dict()})
    samples = build_samples(quotes, SampleConfig(refit_every_days=10))
    training = TrainingConfig(hidden_size=8, head_size=8, epochs=2, batch_size=256)
    model = train_option_model(samples, training)
    evaluation = evaluate_option_models(quotes, model)
    write_evaluation_plots(evaluation, quotes, plots_dir)
    return quotes, model, as_written(evaluation.metrics)


def volatility_evaluation_document(plots_dir: Path) -> VolatilityEvaluationFile:
    """The volatility models trained and walked forward on a synthetic market history."""
    return volatility_run(plots_dir)[2]


@_once
def volatility_run(plots_dir: Path):
    """``(features, model, evaluation document)`` of the volatility models walked forward
    on a synthetic market history."""
    from optvol.core.volatility.artifact import SelectionConfig, train_volatility_model
    from optvol.core.volatility.evaluation import evaluate_volatility, write_volatility_plots
    from optvol.core.volatility.market import clean_market
    from optvol.core.volatility.walk_forward import WalkForwardConfig
    from optvol_tests.builders import volatile_market_frame

    raw = volatile_market_frame(n_days=700, vix_from=250, seed=7)
    source = {**SOURCE, "label": "raw_market.csv", "format": "market", "origin": "real",
              "input_rows": len(raw)}  # fmt: skip
    features, _ = clean_market(with_notes(raw, {"sources": [source]}))
    model = train_volatility_model(
        features, SelectionConfig(min_train_rows=126, validation_folds=3)
    )
    walk = model.walk_forward(features, WalkForwardConfig(min_train_rows=126))
    chosen = model.card.chosen_volatility_model
    evaluation = evaluate_volatility(walk, model.specs(), chosen, model.card, features)
    write_volatility_plots(evaluation, features, plots_dir)
    return features, model, as_written(evaluation)


def write_served_artifacts(root: Path) -> Path:
    """A data root holding what the assets would have written for both models: clean
    tables, models, evaluations and plots (what ``optvol serve`` reads)."""
    from optvol.core.common.parquet import write_parquet
    from optvol.core.common.paths import ARTIFACT_PATHS, PLOTS_DIR
    from optvol_tests.builders import write_quote_months

    plots = root / PLOTS_DIR
    plots.mkdir(parents=True, exist_ok=True)
    (root / "models").mkdir(exist_ok=True)
    (root / "metrics").mkdir(exist_ok=True)
    for name, run in (("option", option_run), ("volatility", volatility_run)):
        table, model, evaluation = run(plots)
        table_asset = "option_quotes" if name == "option" else "market_features"
        model_asset = "gru_model" if name == "option" else "volatility_model"
        evaluation_asset = "option_evaluation" if name == "option" else "volatility_evaluation"
        if table_asset == "option_quotes":
            write_quote_months(table, root / ARTIFACT_PATHS[table_asset])
        else:
            write_parquet(table, root / ARTIFACT_PATHS[table_asset])
        model.save((root / ARTIFACT_PATHS[model_asset]).with_suffix(""))
        (root / ARTIFACT_PATHS[evaluation_asset]).write_text(evaluation.text())
    return root

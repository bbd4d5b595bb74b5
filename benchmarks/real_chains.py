"""The option pipeline on real chain files: ingest, clean, train, evaluate, and how the vols move.

Runs the functions the assets run (``read_option_files``, ``clean_option_quotes``,
``build_samples``, ``train_gru``, ``evaluate_option_models``, ``write_evaluation_plots``) on
the given files in a temporary data root (or ``--keep DIR``), and prints the implied-vol
dynamics table (as ``optvol dynamics`` does), the split, the GRU's correction bound and kept
share, every model's test scores, the GRU's RMSE ratios to practitioner Black-Scholes and
to the leverage-adjusted baseline it corrects, and how many moneyness x maturity buckets
the GRU wins. Each file is a chain of its own unless ``--together``.

    python benchmarks/real_chains.py ../shared/data/real/spy_2021_near_money.csv \\
        ../shared/data/real/spxw_2018-01_2018-02.csv --long-format-config vendor.json

``vendor.json`` names the columns of the lower-case vendor layout (``quotedate``,
``underlying_last``, ``type`` = call/put, ...); ``date_format`` may be left out when the
files differ (``--us-dates FILE`` marks files with MM/DD/YYYY dates).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from optvol.core.options.dynamics import format_dynamics, iv_dynamics  # noqa: E402
from optvol.core.options.evaluation import (  # noqa: E402
    evaluate_option_models,
    write_evaluation_plots,
)
from optvol.core.options.gru.artifact import TrainedGRU  # noqa: E402
from optvol.core.options.gru.training import TrainingConfig, train_gru  # noqa: E402
from optvol.core.options.ingest.clean import clean_option_quotes  # noqa: E402
from optvol.core.options.ingest.long_format import build_spec  # noqa: E402
from optvol.core.options.ingest.read import read_option_files  # noqa: E402
from optvol.core.options.samples import GRU, SampleConfig, build_samples  # noqa: E402


def spec_for(args: argparse.Namespace, path: Path):
    if not (args.long_format or args.long_format_config):
        return None
    config = args.long_format_config
    settings = json.loads(Path(config).read_text()) if config else {}
    settings = settings.get("columns", settings)
    if str(path) in args.us_dates:
        settings = {**settings, "date_format": "%m/%d/%Y"}
    return build_spec(args.long_format, **settings)


def run_chain(name: str, paths: list[Path], args: argparse.Namespace, root: Path) -> dict:
    started = time.perf_counter()
    raw = [read_option_files([p], spec_for(args, p))[0] for p in paths]
    import pyarrow as pa

    quotes, _ = clean_option_quotes(pa.concat_tables(raw))
    dynamics = iv_dynamics(quotes)
    samples = build_samples(quotes, SampleConfig())
    result = train_gru(samples, TrainingConfig(epochs=args.epochs, seed=args.seed))
    model = TrainedGRU.from_training(result, samples)
    evaluation = evaluate_option_models(quotes, model)
    plots = write_evaluation_plots(evaluation, model.card["history"], quotes, root / name)
    metrics = evaluation.metrics
    (root / name / "evaluation.json").write_text(json.dumps(metrics, indent=1, default=str))
    seconds = time.perf_counter() - started

    print(f"\n=== {name}: {', '.join(p.name for p in paths)} ({seconds:.0f} s) ===")
    print(format_dynamics(dynamics))
    print(f"split: {samples.split_dates}; samples {samples.counts.get('samples'):,}")
    card = model.card["metrics"]
    print(
        f"GRU: best epoch {card['best_epoch']} of {card['epochs_run']}, correction bound "
        f"{card['correction_bound']:.3f}, share kept {card['shrinkage']['shrinkage']:.2f} "
        f"(validation loss relative to the anchor by share and block: "
        f"{card['shrinkage']['relative_loss_by_block']})"
    )
    print(f"test rows {metrics['rows']:,} on {metrics['dates']} dates")
    overall = metrics["overall"]
    for model_name in sorted(overall, key=lambda m: overall[m]["rmse"]):
        scores = overall[model_name]
        mdape = scores["median_ape_pct"]
        print(
            f"  {model_name:<24} RMSE {scores['rmse']:8.4f}  MAE {scores['mae']:8.4f}  "
            f"MdAPE {'n/a' if mdape is None else f'{mdape:6.2f}%'}"
        )
    comparison = metrics["comparison"]
    # Below by more than 0.1%: at a share of 0 the GRU prices at the anchor's vol, through
    # float32 (a strike of 2,700 rounds its price to about 1e-4 dollars).
    wins = sum(
        b["metrics"][GRU]["rmse"] < (1 - 1e-3) * b["metrics"][comparison["anchor_baseline"]]["rmse"]
        for b in metrics["by_bucket"]
    )
    print(
        f"GRU / {comparison['practitioner_baseline']}: "
        f"{comparison['rmse_ratio_to_practitioner']:.3f}; GRU / "
        f"{comparison['anchor_baseline']}: {comparison['rmse_ratio_to_anchor']:.3f}; GRU below "
        f"the anchor by over 0.1% in {wins} of {len(metrics['by_bucket'])} buckets; plots in "
        f"{Path(next(iter(plots.values()))).parent}"
    )
    return {"name": name, "seconds": seconds, "comparison": comparison}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--long-format", metavar="PRESET")
    parser.add_argument("--long-format-config", metavar="JSON")
    parser.add_argument("--us-dates", nargs="*", default=[], metavar="FILE",
                        help="files whose dates are MM/DD/YYYY")  # fmt: skip
    parser.add_argument("--together", action="store_true", help="one chain of all files")
    parser.add_argument("--epochs", type=int, default=TrainingConfig().epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", metavar="DIR", help="write the outputs here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    args.us_dates = {str(p) for p in args.us_dates}
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="optvol-real-"))
    chains = {"together": args.files} if args.together else {p.stem: [p] for p in args.files}
    try:
        for name, paths in chains.items():
            (root / name).mkdir(parents=True, exist_ok=True)
            run_chain(name, paths, args, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

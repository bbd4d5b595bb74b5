"""The option pipeline on real chain files: the walk-forward evaluation, printed as tables.

Runs what the assets run (``read_option_files``, ``clean_option_quotes``, ``build_samples``,
``train_option_model`` for the served model, ``evaluate_option_models`` for the walk-forward, the
plots) on the given files in a temporary data root (or ``--keep DIR``) and prints, per
chain: how its vols move with the underlying, the walk-forward (refits, test days), every
model's out-of-sample scores, the GRU's RMSE ratios with 90% day-block bootstrap intervals
and Diebold-Mariano p-values, the one-day hedging gains over the Black-Scholes delta, and
the time taken. Each file is a chain of its own unless ``--together``. Formats are
recognised from the header (optionsDX, optvol's long format, the lower-case vendor
layout); ``--long-format-config`` maps any other.

    python benchmarks/real_chains.py ../shared/data/real/spy_2021_near_money.csv \\
        ../shared/data/real/spxw_2018-01_2018-02.csv

``--set NAME=VALUE`` sets any field of ``SampleConfig`` or ``TrainingConfig`` (for example
``--set refit_every_days=10 --set evaluation=split``); ``--forwards`` also prices every
baseline at the fixed carry and prints how much each one's error changes with the parity
forward.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from optvol.core.options.dynamics import format_dynamics, iv_dynamics  # noqa: E402
from optvol.core.options.evaluation import (  # noqa: E402
    evaluate_option_models,
    write_evaluation_plots,
)
from optvol.core.options.gru.config import TrainingConfig  # noqa: E402
from optvol.core.options.ingest.clean import clean_option_quotes  # noqa: E402
from optvol.core.options.ingest.long_format import build_spec  # noqa: E402
from optvol.core.options.ingest.read import read_option_files  # noqa: E402
from optvol.core.options.samples import (  # noqa: E402
    BASELINES,
    SampleConfig,
    build_samples,
)
from optvol.core.options.walk_forward import train_option_model  # noqa: E402


def spec_for(args: argparse.Namespace, path: Path):
    if not (args.long_format or args.long_format_config):
        return None
    config = args.long_format_config
    settings = json.loads(Path(config).read_text()) if config else {}
    settings = settings.get("columns", settings)
    if str(path) in args.us_dates:
        settings = {**settings, "date_format": "%m/%d/%Y"}
    return build_spec(args.long_format, **settings)


def configs(settings: list[str]) -> tuple[SampleConfig, TrainingConfig]:
    """The two configs with ``NAME=VALUE`` settings applied (typed as the field's default)."""
    values = {SampleConfig: {}, TrainingConfig: {}}
    for setting in settings:
        name, _, text = setting.partition("=")
        for kind in values:
            fields = {f.name: f for f in dataclasses.fields(kind)}
            if name in fields:
                default = fields[name].default
                if isinstance(default, bool):
                    value = text.lower() in ("1", "true", "yes")
                elif isinstance(default, (int, float)):
                    value = type(default)(text)
                else:
                    value = None if text == "None" else text
                values[kind][name] = value
                break
        else:
            raise SystemExit(
                f"--set {setting}: no field {name!r} in SampleConfig or TrainingConfig"
            )
    return SampleConfig(**values[SampleConfig]), TrainingConfig(**values[TrainingConfig])


def fixed_carry_errors(quotes, config: SampleConfig, rows) -> dict[str, float]:
    """Each baseline's RMSE on the out-of-sample rows when every expiry is priced at the
    configured carry instead of its parity forward (the walk-forward's refitted baselines
    are refitted on the fixed-carry samples' first window alike)."""
    fixed = build_samples(quotes, dataclasses.replace(config, forward="fixed"))
    keys = ["quote_date", "expiration", "root", "option_type", "strike"]
    merged = rows[keys + ["mid"]].merge(
        fixed.rows[keys + list(BASELINES)], on=keys, how="left", suffixes=("", "_fixed")
    )
    return {
        name: float(np.sqrt(np.nanmean((merged[name] - merged["mid"]) ** 2))) for name in BASELINES
    }


def run_chain(name: str, paths: list[Path], args: argparse.Namespace, root: Path) -> dict:
    started = time.perf_counter()
    raw = [read_option_files([p], spec_for(args, p))[0] for p in paths]
    quotes, _ = clean_option_quotes(pa.concat_tables(raw))
    sample_config, training = configs(args.set)
    samples = build_samples(quotes, sample_config)
    model = train_option_model(samples, training)
    served = time.perf_counter()
    evaluation = evaluate_option_models(quotes, model)
    write_evaluation_plots(evaluation, quotes, root / name)
    metrics = evaluation.metrics
    (root / name / "evaluation.json").write_text(metrics.text())
    seconds = time.perf_counter() - started

    print(f"\n=== {name}: {', '.join(p.name for p in paths)} ({len(quotes):,} quotes) ===")
    print(format_dynamics(iv_dynamics(quotes, sample_config)))
    walk = metrics.walk_forward
    print(
        f"{metrics.evaluation}: {walk.refits} refit(s), {walk.test_days} test days "
        f"{walk.first_test_date}..{walk.last_test_date}, {walk.test_rows:,} rows; "
        f"served model trained to {model.card.split_dates['validation'][1]} "
        f"({served - started:.0f} s); total {seconds:.0f} s"
    )
    anchors = [r.anchor["anchor"] for r in walk.by_refit]
    shares = [r.shrinkage for r in walk.by_refit]
    carries = [r.carry_shrinkage for r in walk.by_refit]
    clocks = [r.business_time for r in walk.by_refit]
    print(f"anchors by refit: {anchors}; correction kept: {shares}; carry kept: {carries}; "
          f"business time: {clocks}")  # fmt: skip
    overall = metrics.overall
    comparison = metrics.comparison
    practitioner = overall[comparison.practitioner_baseline].rmse
    print(f"{'model':<24} {'RMSE':>8} {'MAE':>8} {'MdAPE':>7} {'/ practitioner':>15}")
    for model_name in sorted(overall, key=lambda m: overall[m].rmse):
        scores = overall[model_name]
        mdape = scores.median_ape_pct
        print(
            f"{model_name:<24} {scores.rmse:8.4f} {scores.mae:8.4f} "
            f"{'n/a' if mdape is None else f'{mdape:6.2f}%':>7} "
            f"{scores.rmse / practitioner:15.3f}"
        )

    def interval(values) -> str:
        return "n/a" if values is None else f"{values[0]:.3f}-{values[1]:.3f}"

    print(
        f"GRU / {comparison.practitioner_baseline}: "
        f"{comparison.rmse_ratio_to_practitioner:.3f} "
        f"(90% {interval(comparison.rmse_ratio_to_practitioner_interval)}, DM p "
        f"{comparison.dm_p_value_vs_practitioner:.3g}); GRU / best baseline "
        f"{comparison.best_baseline}: {comparison.rmse_ratio_to_best_baseline:.3f} "
        f"(90% {interval(comparison.rmse_ratio_to_best_baseline_interval)}, DM p "
        f"{comparison.dm_p_value_vs_best_baseline:.3g})"
    )
    hedging = metrics.hedging
    gains = ", ".join(f"{k} {100 * v:.1f}%" for k, v in hedging.gain_vs_bs_delta.items())
    print(f"one-day hedging, gain over the Black-Scholes delta ({hedging.pairs:,} pairs): "
          f"{gains}")  # fmt: skip
    out = {"name": name, "seconds": seconds, "comparison": comparison.model_dump(),
           "hedging": hedging.model_dump(),
           "overall": {k: v.rmse for k, v in overall.items()}}  # fmt: skip
    if args.forwards:
        fixed = fixed_carry_errors(quotes, sample_config, evaluation.rows)
        print("baseline RMSE at the fixed carry -> at the parity forward (same rows):")
        for baseline in BASELINES:
            print(f"  {baseline:<24} {fixed[baseline]:8.4f} -> {overall[baseline].rmse:8.4f} "
                  f"({overall[baseline].rmse / fixed[baseline] - 1:+.1%})")  # fmt: skip
        out["fixed_carry_rmse"] = fixed
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--long-format", metavar="PRESET")
    parser.add_argument("--long-format-config", metavar="JSON")
    parser.add_argument("--us-dates", nargs="*", default=[], metavar="FILE",
                        help="files whose dates are MM/DD/YYYY")  # fmt: skip
    parser.add_argument("--together", action="store_true", help="one chain of all files")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a SampleConfig or TrainingConfig field")  # fmt: skip
    parser.add_argument("--forwards", action="store_true",
                        help="also price the baselines at the fixed carry and compare")  # fmt: skip
    parser.add_argument("--keep", metavar="DIR", help="write the outputs here")
    parser.add_argument("--json", metavar="FILE", help="write every chain's figures here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    args.us_dates = {str(p) for p in args.us_dates}
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="optvol-real-"))
    chains = {"together": args.files} if args.together else {p.stem: [p] for p in args.files}
    results = []
    try:
        for name, paths in chains.items():
            (root / name).mkdir(parents=True, exist_ok=True)
            results.append(run_chain(name, paths, args, root))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

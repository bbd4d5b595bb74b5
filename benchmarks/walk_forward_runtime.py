"""How long the option pipeline takes on a full chain, through `dagster asset materialize`.

Writes the first ``--days`` trading days of the full-size simulated chain (every listed
expiry and strike, as a full index chain is; by default 100 days, about 700k quotes)
into a temporary data root, or takes ``--chain FILE`` as it is, and times one
`dagster asset materialize` of ``raw_option_quotes``, ``option_quotes``, ``gru_model``
and ``option_evaluation`` (the walk-forward) over its quote months, with a fresh Dagster
instance. Prints the quotes, days, refits and seconds, and the evaluation's headline.

    python benchmarks/walk_forward_runtime.py            # the budget: under 15 minutes
    python benchmarks/walk_forward_runtime.py --chain my_chain.csv --keep /tmp/run
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from optvol.core.options.evaluation_file import OptionEvaluationFile

REPOSITORY = Path(__file__).resolve().parents[1]
ASSETS = "raw_option_quotes,option_quotes,gru_model,option_evaluation"


def first_days(source: Path, target: Path, days: int) -> tuple[int, int]:
    """Copy the header and the rows of the first ``days`` quote dates of an optionsDX
    file; return the rows and dates copied."""
    seen: set[str] = set()
    rows = 0
    with source.open() as read, target.open("w") as write:
        write.write(read.readline())
        for line in read:
            day = line.split(", ", 3)[2]
            if day not in seen:
                if len(seen) == days:
                    break
                seen.add(day)
            write.write(line)
            rows += 1
    return rows, len(seen)


def run(command: list[str], env: dict) -> str:
    done = subprocess.run(command, env=env, cwd=REPOSITORY, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"failed: {' '.join(command)}")
    return done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--chain", type=Path, help="a chain file to time instead")
    parser.add_argument("--keep", metavar="DIR", help="the data root (kept)")
    args = parser.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="optvol-runtime-"))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "OPTVOL_DATA_DIR": str(root), "DAGSTER_HOME": str(root / "home")}
    try:
        (root / "home").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPOSITORY / "dagster.yaml", root / "home" / "dagster.yaml")
        options = root / "raw" / "options"
        options.mkdir(parents=True, exist_ok=True)
        if args.chain:
            shutil.copy(args.chain, options / args.chain.name)
            rows, days = None, None
        else:
            full = root / "full"
            run([str(bin_dir / "optvol"), "sample-data", "--size", "full", "--data-dir",
                 str(full)], env)  # fmt: skip
            source = full / "raw" / "options" / "SPY_options_2020-2022.csv"
            target = options / f"SPY_first_{args.days}_days.csv"
            rows, days = first_days(source, target, args.days)
            shutil.rmtree(full)
        months = run([str(bin_dir / "optvol"), "quote-months"], env)
        started = time.perf_counter()
        run([str(bin_dir / "dagster"), "asset", "materialize", "-m", "optvol.definitions",
             "--select", ASSETS, "--partition-range", months], env)  # fmt: skip
        seconds = time.perf_counter() - started
        evaluation = OptionEvaluationFile.read(root / "metrics" / "evaluation.json")
        walk, comparison = evaluation.walk_forward, evaluation.comparison
        quotes = evaluation.data["summary"]["rows"]
        print(
            f"{quotes:,} quotes"
            + ("" if rows is None else f" ({rows:,} optionsDX rows, {days} days)")
            + f"; {walk.refits} refits, {walk.test_days} test days; "
            f"dagster asset materialize {ASSETS}: {seconds:.0f} s"
        )
        print(
            f"GRU / {comparison.practitioner_baseline} "
            f"{comparison.rmse_ratio_to_practitioner:.3f}, GRU / "
            f"{comparison.best_baseline} {comparison.rmse_ratio_to_best_baseline:.3f}"
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

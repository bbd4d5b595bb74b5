"""Ingest and clean an optionsDX chain three ways and print time, peak memory and ratios.

    python benchmarks/ingest.py [--size demo|full] [--file PATH] [--seed N] [--ways ...]
                                [--repeat N]

Each way runs in a fresh subprocess, so its peak RSS is its own; with ``--repeat N`` the
ways take turns N times and each is reported by its fastest run (and its largest peak
RSS), since on a shared virtual machine a single run's time can vary by a third:

a. optvol: what the month-partitioned ``raw_option_quotes`` and ``option_quotes`` do in
   one single-run backfill of every month: ``read_option_months`` (each file read once,
   quotes split by quote month), each month's raw Parquet written; then month by month,
   two at a time as the IO manager does: the raw Parquet read back, cleaned
   (``clean_option_quotes``), the clean Parquet written. ``a_optvol_ingest`` is the
   first half alone (diagnostic);
b. naive: ``pandas.read_csv`` of the whole file with default settings, then the same
   reshaping and cleaning in pandas, as the notebooks do it;
c. floor: a bare ``pyarrow.csv.read_csv`` of the file (no reshaping, no cleaning);
d. Dagster: what a user runs, ``dagster asset materialize -m optvol.definitions --select
   raw_option_quotes,option_quotes --partition-range <every month>`` (the two assets and
   their six checks) in a fresh data root holding a link to the file and a fresh
   ``DAGSTER_HOME``: the whole command, Python's start and the definitions' load
   included; ``optvol quote-months`` before it is timed apart (a phase, not in the
   total). Its peak RSS is the largest process's.

Targets: a at least 5x faster than b with at most a third of its peak RSS and under 2 GB,
and within 2x of c's time (ingest close to a bare parser); d within 2x of a's time (what
Dagster adds to the user's command stays below the work itself). Without ``--file`` the
embedded sample of ``--size`` is generated into ``benchmarks/results/`` first (not
timed).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_optvol(path: Path, out: Path, clean: bool) -> tuple[int, dict]:
    import pyarrow as pa

    from optvol.core.common.parquet import read_as_written, write_parquet
    from optvol.core.common.threads import in_order_on_threads
    from optvol.core.options.ingest.clean import clean_option_quotes
    from optvol.core.options.ingest.read import read_option_months
    from optvol.defs.io_managers.parquet import WRITE_THREADS

    phases, start = {}, time.perf_counter()
    tables, _ = read_option_months([path])
    phases["read_option_months"] = time.perf_counter() - start
    raw_rows, months = sum(t.num_rows for t in tables.values()), list(tables)

    def write_raw(month: str) -> None:  # the asset returns every month; the IO manager
        write_parquet(tables[month], out / "raw" / f"{month}.parquet")  # writes them so

    for _ in in_order_on_threads(months, write_raw, WRITE_THREADS):
        pass
    tables.clear()
    pa.default_memory_pool().release_unused()
    phases["write_raw"] = time.perf_counter() - start - sum(phases.values())
    if not clean:
        return raw_rows, phases

    def clean_month(month: str) -> int:  # option_quotes' months, as the IO manager writes
        frame, _ = clean_option_quotes(read_as_written(out / "raw" / f"{month}.parquet"))
        write_parquet(frame, out / "clean" / f"{month}.parquet")
        return len(frame)

    clean_rows = sum(in_order_on_threads(months, clean_month, WRITE_THREADS))
    pa.default_memory_pool().release_unused()
    phases["read_clean_write"] = time.perf_counter() - start - sum(phases.values())
    return clean_rows, phases


def run_naive(path: Path, out: Path) -> tuple[int, dict]:
    import numpy as np
    import pandas as pd

    from optvol.core.options.ingest.clean import clean_option_quotes

    wide = pd.read_csv(path)
    wide.columns = [c.strip(" []") for c in wide.columns]
    sides = []
    for side in "CP":
        sizes = wide[f"{side}_SIZE"].astype(str).str.strip().str.split(" x ", expand=True)
        part = pd.DataFrame(
            {
                "quote_date": pd.to_datetime(wide["QUOTE_DATE"].str.strip()),
                "quote_time": pd.to_datetime(wide["QUOTE_READTIME"].str.strip()),
                "expiration": pd.to_datetime(wide["EXPIRE_DATE"].str.strip()),
                "option_type": side,
                "strike": wide["STRIKE"],
                "underlying_last": wide["UNDERLYING_LAST"],
                "dte": wide["DTE"],
                "bid_size": pd.to_numeric(sizes[0], errors="coerce"),
                "ask_size": pd.to_numeric(sizes[1], errors="coerce"),
                "open_interest": np.nan,
            }
        )
        for raw_name, name in {"bid": "BID", "ask": "ASK", "last": "LAST", "volume": "VOLUME",
                               "iv": "IV", "delta": "DELTA", "gamma": "GAMMA", "vega": "VEGA",
                               "theta": "THETA", "rho": "RHO"}.items():  # fmt: skip
            part[raw_name] = pd.to_numeric(wide[f"{side}_{name}"], errors="coerce")
        part["source_file"] = path.name
        part["source_row"] = np.arange(1, len(wide) + 1)
        sides.append(part)
    raw = pd.concat(sides, ignore_index=True)
    raw.to_parquet(out / "raw.parquet")
    frame, _ = clean_option_quotes(raw)
    frame.to_parquet(out / "clean.parquet")
    return len(frame), {}


def run_floor(path: Path, out: Path) -> tuple[int, dict]:
    import pyarrow.csv as pacsv

    return pacsv.read_csv(path).num_rows, {}


def run_dagster(path: Path, out: Path) -> tuple[int, dict]:
    import os
    import shutil

    import pyarrow.parquet as pq

    root, home = out / "data", out / "dagster_home"
    (root / "raw" / "options").mkdir(parents=True)
    (root / "raw" / "options" / path.name).symlink_to(path.resolve())
    home.mkdir()
    shutil.copy(HERE.parent / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "OPTVOL_DATA_DIR": str(root), "DAGSTER_HOME": str(home)}
    bin_dir = Path(sys.executable).parent
    start = time.perf_counter()
    months = subprocess.run(
        [bin_dir / "optvol", "quote-months"], env=env, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    phases = {"quote_months (not in the total)": time.perf_counter() - start}
    start = time.perf_counter()
    subprocess.run(
        [bin_dir / "dagster", "asset", "materialize", "-m", "optvol.definitions", "--select",
         "raw_option_quotes,option_quotes", "--partition-range", months],
        env=env, cwd=out, capture_output=True, check=True,
    )  # fmt: skip
    phases["materialize"] = time.perf_counter() - start
    clean = root / "processed" / "option_quotes"
    rows = sum(pq.read_metadata(file).num_rows for file in clean.glob("*.parquet"))
    return rows, phases


WAYS = {
    "a_optvol_ingest": lambda p, o: run_optvol(p, o, clean=False),
    "a_optvol_ingest_clean": lambda p, o: run_optvol(p, o, clean=True),
    "b_naive_pandas": run_naive,
    "c_floor_pyarrow": run_floor,
    "d_dagster_cli": run_dagster,
}


def child(way: str, path: Path) -> None:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        rows, phases = WAYS[way](path, Path(out))
        seconds = time.perf_counter() - start - sum(v for k, v in phases.items() if "not in" in k)
    from optvol.core.common.memory import peak_rss_megabytes

    usage = resource.getrusage(resource.RUSAGE_SELF)
    if way == "d_dagster_cli":  # the work is in the child processes
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak = usage.ru_maxrss / (1e6 if sys.platform == "darwin" else 1e3)
        print(json.dumps({"way": way, "seconds": seconds, "peak_rss_mb": peak,
                          "cpu_seconds": usage.ru_utime + usage.ru_stime, "rows": rows,
                          "phases": phases}))  # fmt: skip
        return
    print(json.dumps({"way": way, "seconds": seconds, "peak_rss_mb": peak_rss_megabytes(),
                      "cpu_seconds": usage.ru_utime + usage.ru_stime, "rows": rows,
                      "phases": phases}))  # fmt: skip


def measure(way: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", way, str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("demo", "full"), default="demo")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--file", type=Path, help="an optionsDX file (default: the sample)")
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=list(WAYS))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each way (best is kept)")
    parser.add_argument("--child", nargs=2, metavar=("WAY", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return

    path = args.file
    if path is None:
        from optvol.sample import write_sample_data

        root = HERE / "results" / f"sample-{args.size}-{args.seed}"
        path = root / "raw" / "options" / "SPY_options_2020-2022.csv"
        if not path.exists():
            write_sample_data(root, size=args.size, seed=args.seed)
    size_mb = path.stat().st_size / 1e6
    print(f"file: {path} ({size_mb:,.0f} MB)")
    runs = {way: [] for way in args.ways}
    for _ in range(max(1, args.repeat)):
        for way in args.ways:
            runs[way].append(measure(way, path))
    results = {way: best_of(way_runs) for way, way_runs in runs.items()}
    if args.repeat > 1:
        print(f"fastest of {args.repeat} runs each; peak RSS the largest of them")
    print(f"{'way':<24}{'seconds':>9}{'CPU s':>8}{'peak RSS MB':>13}{'rows':>11}{'rows/s':>11}")
    for way, r in results.items():
        rate = r["rows"] / r["seconds"] if r["seconds"] else float("nan")
        print(
            f"{way:<24}{r['seconds']:>9.2f}{r['cpu_seconds']:>8.1f}{r['peak_rss_mb']:>13,.0f}"
            f"{r['rows']:>11,}{rate:>11,.0f}"
        )
        if r.get("phases"):
            print(" " * 4 + ", ".join(f"{k} {v:.2f} s" for k, v in r["phases"].items()))
    report_targets(results)


def best_of(runs: list[dict]) -> dict:
    """The fastest of ``runs``, carrying the largest peak RSS of them all."""
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return best


def report_targets(results: dict) -> None:
    """The ratios of a to b and to c, and whether each target is met."""
    a, b, c = (
        results.get(k) for k in ("a_optvol_ingest_clean", "b_naive_pandas", "c_floor_pyarrow")
    )
    if a:
        met = "met" if a["peak_rss_mb"] < 2000 else "NOT met"
        print(f"a peak RSS {a['peak_rss_mb']:,.0f} MB (target < 2,000 MB: {met})")
    if a and b:
        speedup = b["seconds"] / a["seconds"]
        memory = a["peak_rss_mb"] / b["peak_rss_mb"]
        print(f"a/b time {a['seconds'] / b['seconds']:.2f}: a is {speedup:.1f}x faster "
              f"(target >= 5x: {'met' if speedup >= 5 else 'NOT met'})")  # fmt: skip
        print(
            f"a/b peak RSS {memory:.2f} (target <= 0.33: {'met' if memory <= 1 / 3 else 'NOT met'})"
        )
    d = results.get("d_dagster_cli")
    if a and d:
        ratio = d["seconds"] / a["seconds"]
        print(f"d/a time {ratio:.2f} (target <= 2: {'met' if ratio <= 2 else 'NOT met'})")
    if a and c:
        ratio = a["seconds"] / c["seconds"]
        print(f"a/c time {ratio:.2f} (target <= 2: {'met' if ratio <= 2 else 'NOT met'})")
        print(f"a/c peak RSS {a['peak_rss_mb'] / c['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()

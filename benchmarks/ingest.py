"""Ingest (and clean) an optionsDX chain three ways and print time, peak memory and ratios.

    python benchmarks/ingest.py [--size demo|full] [--file PATH] [--seed N]

Each way runs in a fresh subprocess, so its peak RSS is its own:

a. optvol: the streaming reader (``read_option_files``) + Parquet, then cleaning + Parquet
   — exactly what ``raw_option_quotes`` and ``option_quotes`` do;
b. naive: ``pandas.read_csv`` of the whole file with default settings, then the same
   reshaping and cleaning in pandas, as the notebooks do it;
c. floor: a bare ``pyarrow.csv.read_csv`` of the file (no reshaping, no cleaning).

Without ``--file`` the embedded sample of ``--size`` is generated into
``benchmarks/results/`` first (not timed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_optvol(path: Path, out: Path, clean: bool) -> int:
    from optvol.core.option_cleaning import clean_option_quotes
    from optvol.core.option_ingest import read_option_files
    from optvol.core.parquet import write_parquet

    raw, _ = read_option_files([path])
    write_parquet(raw, out / "raw.parquet")
    if not clean:
        return raw.num_rows
    frame, _ = clean_option_quotes(raw)
    write_parquet(frame, out / "clean.parquet")
    return len(frame)


def run_naive(path: Path, out: Path) -> int:
    import numpy as np
    import pandas as pd

    from optvol.core.option_cleaning import clean_option_quotes

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
    return len(frame)


def run_floor(path: Path, out: Path) -> int:
    import pyarrow.csv as pacsv

    return pacsv.read_csv(path).num_rows


WAYS = {
    "a_optvol_ingest": lambda p, o: run_optvol(p, o, clean=False),
    "a_optvol_ingest_clean": lambda p, o: run_optvol(p, o, clean=True),
    "b_naive_pandas": run_naive,
    "c_floor_pyarrow": run_floor,
}


def child(way: str, path: Path) -> None:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        rows = WAYS[way](path, Path(out))
        seconds = time.perf_counter() - start
    from optvol.core.memory import peak_rss_megabytes

    print(json.dumps({"way": way, "seconds": seconds, "peak_rss_mb": peak_rss_megabytes(),
                      "rows": rows}))  # fmt: skip


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
    results = {way: measure(way, path) for way in args.ways}
    print(f"{'way':<24}{'seconds':>10}{'peak RSS MB':>14}{'rows':>12}{'rows/s':>14}")
    for way, r in results.items():
        rate = r["rows"] / r["seconds"] if r["seconds"] else float("nan")
        print(
            f"{way:<24}{r['seconds']:>10.2f}{r['peak_rss_mb']:>14,.0f}{r['rows']:>12,}{rate:>14,.0f}"
        )
    a, b, c = (
        results.get(k) for k in ("a_optvol_ingest_clean", "b_naive_pandas", "c_floor_pyarrow")
    )
    ingest = results.get("a_optvol_ingest")
    if a and b:
        print(
            f"a/b time {a['seconds'] / b['seconds']:.2f} "
            f"(b is {b['seconds'] / a['seconds']:.1f}x slower)"
        )
        print(f"a/b peak RSS {a['peak_rss_mb'] / b['peak_rss_mb']:.2f}")
    if ingest and c:
        print(f"ingest/c time {ingest['seconds'] / c['seconds']:.2f}, "
              f"peak RSS {ingest['peak_rss_mb'] / c['peak_rss_mb']:.2f}")  # fmt: skip
    if a and c:
        print(f"a/c time {a['seconds'] / c['seconds']:.2f}")


if __name__ == "__main__":
    main()

"""The ``optvol`` command: sample data, cleaning, the demo, the API and the dashboard.

Every sub-command has ``--help``. Bad input ends with an ERROR log line saying what is
wrong and exit status 2; nothing already written is touched.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from optvol.core.common.errors import OptvolInputError, excerpt
from optvol.core.common.paths import (
    DATA_DIR_ENV,
    MARKET_INPUT_FILE,
    OPTIONS_INPUT_DIR,
    resolve_data_root,
)
from optvol.core.volatility.market import DEFAULT_RELEASE_LAG_MONTHS

log = logging.getLogger("optvol.cli")


def _sample_data(args: argparse.Namespace) -> int:
    from optvol.sample import OPTIONS_FILE, write_sample_data

    root = resolve_data_root(args.data_dir)
    options_dir = root / OPTIONS_INPUT_DIR
    others = sorted(
        p.name for p in options_dir.glob("*") if p.is_file() and p.name != OPTIONS_FILE.name
    )
    if others and not args.force:
        raise OptvolInputError(
            f"{options_dir} holds other chain files {others[:5]}; the simulated sample would "
            "be ingested together with them. Use another --data-dir, or --force"
        )
    market = root / MARKET_INPUT_FILE
    if market.exists() and not args.force and not _is_sample_market(market):
        raise OptvolInputError(
            f"{market} exists and is not optvol's sample market history: it would be "
            "replaced. Use another --data-dir, or --force to replace it"
        )
    paths = write_sample_data(root, size=args.size, seed=args.seed)
    for kind, path in paths.items():
        print(f"{kind}: {path} ({path.stat().st_size:,} bytes)")
    return 0


def _is_sample_market(path: Path) -> bool:
    """Whether ``path`` holds exactly the market history ``sample-data`` writes."""
    import tempfile

    from optvol.sample.market import write_market

    with tempfile.TemporaryDirectory() as scratch:
        sample = write_market(Path(scratch) / "raw_market.csv")
        return sample.read_bytes() == path.read_bytes()


def _long_format_spec(args: argparse.Namespace):
    """The mapping of --long-format and --long-format-config: a JSON file in the run
    config's shape (``preset``, ``columns``, ``date_format``...) or the flat one."""
    from optvol.core.options.ingest.long_format import settings_spec

    if not (args.long_format or args.long_format_config):
        return None
    path = Path(args.long_format_config) if args.long_format_config else None
    try:
        settings = json.loads(path.read_text()) if path else {}
    except json.JSONDecodeError as err:
        raise OptvolInputError(f"{path}: not a JSON file of long-format settings: {err}") from None
    if not isinstance(settings, dict):
        raise OptvolInputError(f"{path}: long-format settings must be a JSON object")
    return settings_spec(settings, args.long_format)


def _looks_like_market_file(path: Path) -> bool:
    from optvol.core.common.input_files import read_header, sources_of
    from optvol.core.volatility.market import missing_required_columns

    return not missing_required_columns(read_header(sources_of(path)[0]))


def _inputs_of(paths: list[str]) -> list[Path]:
    """The input files: each file given, and the chain files of each directory given."""
    from optvol.core.common.input_files import find_input_files

    inputs: list[Path] = []
    for path in map(Path, paths):
        inputs += find_input_files(path) if path.is_dir() else [path]
    return inputs


def _output_path(out: str) -> Path:
    """``--out`` as a file the cleaned table can be written to, or a clear error."""
    path = Path(out)
    if path.is_dir():
        raise OptvolInputError(f"--out {path} is a directory; name the Parquet file to write")
    if not path.parent.is_dir():
        raise OptvolInputError(f"--out {path}: the directory {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OptvolInputError(f"--out {path}: not writable here")
    return path


def _refuse_output_among_inputs(out: Path, inputs: list[Path]) -> None:
    """Refuse an ``--out`` that is one of the inputs (links resolved): writing it would
    replace the data being cleaned."""
    target = out.resolve()
    for path in inputs:
        if path.resolve() == target:
            raise OptvolInputError(
                f"--out {out} is the input {path}: the cleaned table would replace it. Name "
                "another file"
            )


def _clean(args: argparse.Namespace) -> int:
    from optvol.core.common.errors import BlockingCheckError
    from optvol.core.common.parquet import write_parquet
    from optvol.core.common.validation import failed_blocking

    out = _output_path(args.out)
    inputs = _inputs_of(args.inputs)
    _refuse_output_among_inputs(out, inputs)
    kind = args.kind
    if kind == "auto":
        kind = "market" if len(inputs) == 1 and _looks_like_market_file(inputs[0]) else "options"
    if kind == "market":
        if len(inputs) != 1:
            raise OptvolInputError("market cleaning takes exactly one input file")
        from optvol.core.volatility.market import clean_market, read_market_file
        from optvol.core.volatility.validation import market_feature_outcomes

        frame, report = clean_market(read_market_file(inputs[0]), args.release_lag_months)
        table, outcomes = "the cleaned market table", market_feature_outcomes(frame)
    else:
        from optvol.core.options.ingest.clean import clean_option_quotes
        from optvol.core.options.ingest.read import read_option_files
        from optvol.core.options.validation import option_quote_outcomes

        raw, _ = read_option_files(inputs, _long_format_spec(args))
        frame, report = clean_option_quotes(raw)
        table, outcomes = "the cleaned quotes", option_quote_outcomes(frame)
    failure = failed_blocking(table, outcomes)
    if failure is not None:
        raise BlockingCheckError(f"{failure}: {out} not written")
    try:
        write_parquet(frame, out)
    except PermissionError as err:
        raise OptvolInputError(f"--out {out}: not writable ({err.strerror})") from None
    print(f"{kind}: {report.rows_in:,} rows in, {report.rows_out:,} rows out -> {out}")
    return 0


def _dynamics(args: argparse.Namespace) -> int:
    from optvol.core.options.dynamics import format_dynamics, iv_dynamics
    from optvol.core.options.ingest.clean import clean_option_quotes
    from optvol.core.options.ingest.read import read_option_files
    from optvol.core.options.samples import SampleConfig

    raw, _ = read_option_files(_inputs_of(args.inputs), _long_format_spec(args))
    quotes, _ = clean_option_quotes(raw)
    rates = {"risk_free_rate": args.rate, "dividend_yield": args.dividend_yield}
    config = SampleConfig(**{name: value for name, value in rates.items() if value is not None})
    dynamics = iv_dynamics(quotes, config)
    print(json.dumps(dynamics.to_dict(), indent=2) if args.json else format_dynamics(dynamics))
    return 0


def _fred_argument(value: str) -> tuple[str | None, Path]:
    """``--fred`` as (name, file): ``NAME=FILE`` or a plain ``FILE``."""
    name, sep, file = value.partition("=")
    if sep and name.isidentifier() and not Path(value).exists():
        return name, Path(file)
    return None, Path(value)


def _import_market(args: argparse.Namespace) -> int:
    from optvol.core.common.directory_lock import directory_lock
    from optvol.core.volatility.market_import import (
        build_raw_market,
        read_cboe_vix,
        read_fred,
        read_yahoo_ohlc,
        write_raw_market,
    )

    root = resolve_data_root(args.data_dir)
    out = Path(args.out) if args.out else root / MARKET_INPUT_FILE
    spx = read_yahoo_ohlc(args.spx)
    vix = read_cboe_vix(args.vix) if args.vix else None
    fred = [read_fred(path, name) for name, path in map(_fred_argument, args.fred)]
    frame = build_raw_market(spx, vix, fred)
    if args.out:
        write_raw_market(frame, out, force=args.force)
    else:  # not while a market download of the data root merges into the file replaced
        with directory_lock(root, "market download"):
            write_raw_market(frame, out, force=args.force)
    print(
        f"wrote {out}: {len(frame):,} rows, {frame['date'].iloc[0]} to "
        f"{frame['date'].iloc[-1]}, {frame['spx_close'].notna().sum():,} with an S&P 500 "
        f"close; columns: {', '.join(frame.columns)}"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    import dagster as dg

    from optvol.definitions import assets, resources_for
    from optvol.defs.options.partitions import input_month_range, range_tags

    root = resolve_data_root(args.data_dir)
    options_dir, market_file = root / OPTIONS_INPUT_DIR, root / MARKET_INPUT_FILE
    has_options = options_dir.is_dir() and any(options_dir.iterdir())
    if not has_options and not market_file.exists():
        from optvol.sample import write_sample_data

        write_sample_data(root, size=args.size, seed=args.seed)
    elif not has_options or not market_file.exists():
        # Never mix the simulated sample with a user's own inputs.
        missing = options_dir if not has_options else market_file
        raise OptvolInputError(
            f"{missing} is missing while other inputs exist under {root / 'raw'}; add it, "
            "or empty raw/ to use the embedded sample"
        )
    first, last = input_month_range(options_dir)
    log.info("Materializing every asset, quote months %s to %s, in one run", first, last)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    result = dg.materialize(
        assets(),
        resources=resources_for(str(root)),
        instance=instance,
        tags=range_tags(first, last),
        raise_on_error=False,
    )
    print(f"materialized every asset under {root}: {'success' if result.success else 'FAILED'}")
    return 0 if result.success else 1


# The instance settings shipped beside the package (a checkout or an editable install).
INSTANCE_SETTINGS = Path(__file__).resolve().parent.parent / "dagster.yaml"


def _init_home(args: argparse.Namespace) -> int:
    """Create the Dagster instance's storage once, before any run: Dagster creates a new
    instance's SQLite files on first use, and several runs starting at once on a new
    DAGSTER_HOME race to create them (two died with an IntegrityError on alembic_version
    and left the schedule storage with two heads)."""
    import shutil
    import subprocess

    home = Path(
        args.dagster_home
        or os.environ.get("DAGSTER_HOME")
        or resolve_data_root(args.data_dir) / "dagster_home"
    ).absolute()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists() and INSTANCE_SETTINGS.exists():
        shutil.copy(INSTANCE_SETTINGS, settings)
    dagster = Path(sys.executable).parent / "dagster"
    done = subprocess.run(
        [str(dagster if dagster.exists() else "dagster"), "instance", "migrate"],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise OptvolInputError(
            f"could not create the Dagster instance in {home}: {excerpt(done.stderr.strip(), 500)}"
        )
    print(f"Dagster instance ready in {home} (storage created; export DAGSTER_HOME={home})")
    return 0


def _add_init_home(commands) -> None:
    init = commands.add_parser(
        "init-home",
        help="create the Dagster instance (DAGSTER_HOME) and its storage before any run",
        description="Copy optvol's dagster.yaml into the instance directory if it has none, "
        "and create the instance's storage, so that runs started at once on a new "
        "instance do not race to create it. The directory: --dagster-home, else "
        "$DAGSTER_HOME, else <data root>/dagster_home.",
    )
    init.add_argument("--dagster-home", help="the instance directory")
    init.add_argument("--data-dir", help=DATA_DIR_HELP)
    init.set_defaults(func=_init_home)


def _quote_months(args: argparse.Namespace) -> int:
    from optvol.defs.options.partitions import input_month_range

    directory = resolve_data_root(args.data_dir) / OPTIONS_INPUT_DIR
    if args.input_dir:
        directory = Path(args.input_dir)
    first, last = input_month_range(directory, _long_format_spec(args))
    print(f"{first}...{last}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from optvol.serve.server import serve

    return serve(resolve_data_root(args.data_dir), args.host, args.port, args.threads, args.workers,
                 args.read_timeout)  # fmt: skip


def _dashboard(args: argparse.Namespace) -> int:
    import subprocess

    from optvol.serve import dashboard

    command = [
        sys.executable, "-m", "streamlit", "run", dashboard.__file__,
        "--server.address", args.host, "--server.port", str(args.port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--", "--data-dir", str(resolve_data_root(args.data_dir)),
    ]  # fmt: skip
    log.info("Starting the dashboard on http://%s:%d", args.host, args.port)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


DATA_DIR_HELP = f"data root (default: ${DATA_DIR_ENV} or ./data)"


def build_parser() -> argparse.ArgumentParser:
    """The ``optvol`` command and its subcommands, one ``_add_*`` function each."""
    parser = argparse.ArgumentParser(prog="optvol", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="DEBUG logging")
    commands = parser.add_subparsers(dest="command", required=True)
    sample_options, long_format_options = _sample_options(), _long_format_options()
    _add_sample_data(commands, sample_options)
    _add_clean(commands, long_format_options)
    _add_dynamics(commands, long_format_options)
    _add_import_market(commands)
    _add_download(commands)
    _add_demo(commands, sample_options)
    _add_quote_months(commands, long_format_options)
    _add_serve(commands)
    _add_dashboard(commands)
    _add_init_home(commands)
    return parser


def _sample_options() -> argparse.ArgumentParser:
    """What sample-data and demo share: which sample, and where."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--size",
        choices=("demo", "full"),
        default="demo",
        help="demo: ~150k rows, seconds; full: ~3.6M rows (default: demo)",
    )
    options.add_argument("--seed", type=int, default=2020, help="random seed (default: 2020)")
    options.add_argument("--data-dir", help=DATA_DIR_HELP)
    return options


def _long_format_options() -> argparse.ArgumentParser:
    """How to read long-format chain files: for clean, dynamics and quote-months."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--long-format",
        metavar="PRESET",
        help="long-format preset (generic, cboe_eod, historicaloptiondata)",
    )
    options.add_argument(
        "--long-format-config",
        metavar="JSON",
        help="JSON file of long-format settings (column names, date_format, ...)",
    )
    return options


def _server_options(port: int) -> argparse.ArgumentParser:
    """Where serve and dashboard listen, and the data root they read."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    options.add_argument("--port", type=int, default=port, help=f"port (default: {port})")
    options.add_argument("--data-dir", help=DATA_DIR_HELP)
    return options


def _add_sample_data(commands, sample_options: argparse.ArgumentParser) -> None:
    sample = commands.add_parser(
        "sample-data",
        parents=[sample_options],
        help="write the embedded sample (simulated SPY chain, real S&P 500/VIX/macro)",
        description="Write the embedded sample into <data dir>/raw/: a simulated SPY option "
        "chain in the optionsDX format and the real market history shipped with `arch`.",
    )
    sample.add_argument(
        "--force",
        action="store_true",
        help="write even beside other chain files in raw/options, and replace a market file "
        "raw/raw_market.csv that is not the sample's",
    )
    sample.set_defaults(func=_sample_data)


def _add_clean(commands, long_format_options: argparse.ArgumentParser) -> None:
    clean = commands.add_parser(
        "clean",
        parents=[long_format_options],
        help="ingest and clean input files to Parquet, without Dagster",
        description="The cleaning step standalone: read option chain files (optionsDX or long "
        "format) or a market history file, clean them exactly as the assets do, and write "
        "one Parquet file.",
    )
    clean.add_argument(
        "inputs", nargs="+",
        help="input files (.csv, .txt, .csv.gz, .zip), or directories of chain files",
    )  # fmt: skip
    clean.add_argument("--out", required=True, help="Parquet file to write")
    clean.add_argument(
        "--kind",
        choices=("auto", "options", "market"),
        default="auto",
        help="what the inputs are (default: detect from the header)",
    )
    clean.add_argument(
        "--release-lag-months",
        type=int,
        default=DEFAULT_RELEASE_LAG_MONTHS,
        help="months from the end of a macro series' period to its use "
        f"(default: {DEFAULT_RELEASE_LAG_MONTHS})",
    )
    clean.set_defaults(func=_clean)


def _add_dynamics(commands, long_format_options: argparse.ArgumentParser) -> None:
    dynamics = commands.add_parser(
        "dynamics",
        parents=[long_format_options],
        help="print how the implied vols of option chain files move with the underlying",
        description="Clean option chain files as the assets do, then regress each "
        "contract's change of mid implied vol between consecutive trading days on the "
        "underlying's log return: overall, near the money and by moneyness x days to "
        "expiry, with the same at fixed moneyness, the skew's change, the autocorrelation "
        "of ATM vol changes and the spreads. What a model of tomorrow's prices can learn, "
        "before training.",
    )
    dynamics.add_argument(
        "inputs", nargs="+", help="chain files (.csv, .txt, .csv.gz, .zip), or directories of them"
    )
    for flag, what in (("--rate", "risk-free rate"), ("--dividend-yield", "dividend yield")):
        dynamics.add_argument(
            flag, type=float,
            help=f"continuously compounded {what} the implied vols are solved at "
            "(default: the training samples')",
        )  # fmt: skip
    dynamics.add_argument("--json", action="store_true", help="print the statistics as JSON")
    dynamics.set_defaults(func=_dynamics)


def _add_import_market(commands) -> None:
    imports = commands.add_parser(
        "import-market",
        help="build raw/raw_market.csv from Yahoo OHLC, CBOE VIX and FRED downloads",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Build the market history input (raw/raw_market.csv) from the files you "
        "download:\n"
        "  --spx   daily OHLC as Yahoo Finance / yfinance / stooq write it\n"
        "          (Date,Open,High,Low,Close[,Adj Close,Volume]; Close is used)\n"
        "  --vix   CBOE's VIX_History.csv (DATE,OPEN,HIGH,LOW,CLOSE)\n"
        "  --fred  a FRED download (observation_date,SERIES_ID), repeatable; the column is\n"
        "          the series id in lower case, or NAME with NAME=FILE\n"
        "Dates are joined; rows without an S&P 500 close keep macro values for the\n"
        "release-lag alignment. Dates YYYY-MM-DD or MM/DD/YYYY; .csv, .csv.gz, .zip.",
        epilog="example: optvol import-market --spx GSPC.csv --vix VIX_History.csv "
        "--fred DGS10.csv --fred core_cpi=CPILFESL.csv",
    )
    imports.add_argument("--spx", required=True, metavar="FILE", help="S&P 500 daily OHLC")
    imports.add_argument("--vix", metavar="FILE", help="VIX daily history (optional)")
    imports.add_argument(
        "--fred",
        action="append",
        default=[],
        metavar="[NAME=]FILE",
        help="a FRED series file; repeat for more series",
    )
    imports.add_argument("--data-dir", help=DATA_DIR_HELP)
    imports.add_argument(
        "--out", metavar="FILE", help=f"file to write (default: <data root>/{MARKET_INPUT_FILE})"
    )
    imports.add_argument("--force", action="store_true", help="replace an existing output file")
    imports.set_defaults(func=_import_market)


def _add_download(commands) -> None:
    download = commands.add_parser(
        "download",
        help="download inputs from free public sources",
        description="Download inputs from free, keyless public sources into the data root.",
    )
    sources = download.add_subparsers(dest="source", required=True)
    market = sources.add_parser(
        "market",
        help="add the new days of the S&P 500, VIX and FRED histories to raw_market.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Download the S&P 500 daily OHLC (stooq), the VIX history (Cboe) and "
        "FRED series, read\nthem as `optvol import-market` reads such files, and add the "
        f"days (and empty values)\n<data root>/{MARKET_INPUT_FILE} lacks. Nothing stored is "
        "replaced: a "
        "source that ends earlier than\nthe stored file, or disagrees with it on a day both "
        "hold, is refused. Each source's\nURL is a template its variable overrides (a mirror, "
        "the tests): OPTVOL_URL_SPX,\nOPTVOL_URL_VIX and OPTVOL_URL_FRED ({series} is the "
        "series id).",
    )
    market.add_argument(
        "--fred",
        nargs="*",
        default=None,
        metavar="SERIES",
        help="FRED series ids (default: DGS10 DGS2 UNRATE); --fred with none: no FRED series",
    )
    market.add_argument("--data-dir", help=DATA_DIR_HELP)
    market.set_defaults(func=_download_market)
    options = sources.add_parser(
        "options",
        help="save Cboe's delayed quotes of every option of SYMBOL as today's chain",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Save Cboe's delayed quotes of every listed option of each SYMBOL, taken "
        "after the close,\nas that day's end-of-day chain: one file per underlying and "
        f"trading day in\n<data root>/{OPTIONS_INPUT_DIR}/ (the delayed-quotes layout the "
        "chain reader recognises).\nA second run on the same day replaces that day's file; "
        "a weekend or NYSE holiday\nwrites nothing. OPTVOL_URL_CBOE_OPTIONS overrides the "
        "URL ({symbol}: SPY, _SPX).",
    )
    options.add_argument("symbols", nargs="+", metavar="SYMBOL", help="underlyings, e.g. SPY SPX")
    options.add_argument(
        "--intraday", action="store_true", help="keep a snapshot taken before the close"
    )
    options.add_argument("--data-dir", help=DATA_DIR_HELP)
    options.set_defaults(func=_download_options)


def _download_market(args: argparse.Namespace) -> int:
    from optvol.core.downloads.market import DEFAULT_FRED_SERIES, download_market

    series = DEFAULT_FRED_SERIES if args.fred is None else tuple(args.fred)
    done = download_market(resolve_data_root(args.data_dir), fred_series=series)
    if done.rows_added or done.cells_filled:
        print(f"added {done.rows_added:,} days to {done.path} and filled "
              f"{done.cells_filled:,} empty values of stored days")  # fmt: skip
    else:
        print(f"{done.path}: no new day or value in any source; nothing changed")
    return 0


def _download_options(args: argparse.Namespace) -> int:
    from optvol.core.downloads.options import download_options

    for done in download_options(
        resolve_data_root(args.data_dir), args.symbols, intraday=args.intraday
    ):
        if done.path is None:
            print(f"{done.symbol}: {done.quote_date} is not a trading day; nothing written")
        else:
            print(f"wrote {done.path}: {done.rows:,} option quotes of {done.symbol} on "
                  f"{done.quote_date}")  # fmt: skip
    return 0


def _add_demo(commands, sample_options: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo",
        parents=[sample_options],
        help="write the sample if no input exists, then materialize every asset",
        description="Write the embedded sample if <data dir>/raw/ has no inputs, then "
        "materialize every asset and check (uses $DAGSTER_HOME when set).",
    )
    demo.set_defaults(func=_demo)


def _add_quote_months(commands, long_format_options: argparse.ArgumentParser) -> None:
    months = commands.add_parser(
        "quote-months",
        parents=[long_format_options],
        help="print the quote-month range of the option inputs, as --partition-range takes it",
        description="Read the quote dates of the option chain files and print their first and "
        "last month as FIRST...LAST, e.g. for `dagster asset materialize -m optvol.definitions "
        "--select '*' --partition-range \"$(optvol quote-months)\"`.",
    )
    months.add_argument("--data-dir", help=DATA_DIR_HELP)
    months.add_argument(
        "--input-dir", help=f"chain files directory (default: <data root>/{OPTIONS_INPUT_DIR})"
    )
    months.set_defaults(func=_quote_months)


def _add_serve(commands) -> None:
    serve = commands.add_parser(
        "serve",
        parents=[_server_options(8000)],
        help="serve the trained models over HTTP (/health, /predict, /plot, /openapi.json)",
        description="Load the materialized models of the data root once and serve them: "
        "with waitress in one process, or with gunicorn in --workers processes (POSIX). Binds "
        "to 127.0.0.1 unless --host says otherwise.",
    )
    serve.add_argument(
        "--workers", type=int, default=1,
        help="server processes (default: 1, waitress); more use more cores (gunicorn)",
    )  # fmt: skip
    serve.add_argument(
        "--threads", type=int,
        help="threads per process (default: 8 with one process, 1 per gunicorn worker)",
    )  # fmt: skip
    serve.add_argument(
        "--read-timeout", type=float, default=10.0, metavar="SECONDS",
        help="gunicorn workers: seconds a client has to send a request's head, and then "
        "its body, before it is answered 408 (default: 10)",
    )  # fmt: skip
    serve.set_defaults(func=_serve)


def _add_dashboard(commands) -> None:
    dashboard = commands.add_parser(
        "dashboard",
        parents=[_server_options(8501)],
        help="the Streamlit dashboard over the trained models",
        description="Run the Streamlit dashboard: pick a model and inputs, see the prediction "
        "beside every baseline, the evaluation plots and the metrics.",
    )
    dashboard.set_defaults(func=_dashboard)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # A new Dagster instance's schema migration says what it does at INFO; not news.
    logging.getLogger("alembic").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return args.func(args)
    except (OptvolInputError, FileNotFoundError, ValueError) as err:
        log.error("%s", err)
        return 2


if __name__ == "__main__":
    sys.exit(main())

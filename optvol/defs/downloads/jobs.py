"""The download jobs: one op each, calling core's downloads with the settings' data root,
URLs and symbols. What they write lands in ``raw/``, where the ``new_input_files``
sensor picks it up, so ingest, cleaning and (when enabled) retraining follow. A failed
download fails the run (the failure alert reports it) and keeps every stored file."""

import dagster as dg

from optvol.core.downloads.market import download_market
from optvol.core.downloads.options import download_options
from optvol.defs.automation.jobs import IN_PROCESS
from optvol.defs.shared.settings import Settings

DOWNLOAD_TAGS = {"optvol/refresh": "downloads"}


@dg.op(description="Append the new days of the S&P 500, VIX and FRED histories.")
def download_market_history(context: dg.OpExecutionContext, settings: Settings) -> None:
    done = download_market(settings.data_path, urls=settings.market_urls)
    context.log.info(
        "%s: %d days added, %d empty values filled", done.path, done.rows_added, done.cells_filled
    )


@dg.op(description="Save each configured underlying's delayed quotes as the day's chain.")
def snapshot_option_chains(context: dg.OpExecutionContext, settings: Settings) -> None:
    symbols = settings.option_symbols.split()
    for done in download_options(settings.data_path, symbols, url=settings.option_url):
        if done.path is None:
            context.log.info("%s: %s is not a trading day; nothing written", done.symbol,
                             done.quote_date)  # fmt: skip
        else:
            context.log.info("%s: %d quotes of %s", done.path, done.rows, done.quote_date)


@dg.job(executor_def=IN_PROCESS, tags=DOWNLOAD_TAGS)
def download_market_job():
    """Download the market history into raw/raw_market.csv."""
    download_market_history()


@dg.job(executor_def=IN_PROCESS, tags=DOWNLOAD_TAGS)
def snapshot_options_job():
    """Snapshot the configured underlyings' option chains into raw/options/."""
    snapshot_option_chains()

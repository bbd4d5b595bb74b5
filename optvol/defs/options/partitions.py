"""Quote-month partitions of the option assets.

``raw_option_quotes`` and ``option_quotes`` are partitioned by the month of the quote date
(keys ``YYYY-MM``): a new month's chains are ingested and cleaned alone, a corrected file
re-ingests only the months it holds, and the UI shows which months exist. Vendors deliver
monthly files (optionsDX) as often as daily ones (CBOE DataShop) or one multi-year file, so
the month a quote is dated in is the stable unit; a partition per input file would change
meaning with every vendor. The models read every month.

Every asset has ``BackfillPolicy.single_run()``: a range of months runs as one run (each
input file read once), which is also what lets one command cover the whole graph::

    dagster asset materialize -m optvol.definitions --select '*' \\
        --partition-range "$(optvol quote-months)"

Runs of separate months (``--partition 2021-03``, or range tags) are independent of one
another and may run in parallel.
"""

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.input_files import find_input_files
from optvol.core.options.ingest.long_format import LongFormatSpec
from optvol.core.options.ingest.read import scan_quote_months

FIRST_MONTH_ENV = "OPTVOL_FIRST_QUOTE_MONTH"
DEFAULT_FIRST_MONTH = "2020-01"
MONTH_FORMAT = "%Y-%m"


def first_quote_month() -> str:
    """The first month partition: ``$OPTVOL_FIRST_QUOTE_MONTH`` (``YYYY-MM``), else
    2020-01, the first month of the SPY 2020-2022 data set and of the embedded sample."""
    text = os.environ.get(FIRST_MONTH_ENV, "").strip() or DEFAULT_FIRST_MONTH
    try:
        dt.datetime.strptime(text, MONTH_FORMAT)
    except ValueError:
        raise ValueError(f"{FIRST_MONTH_ENV} must be a month as YYYY-MM, got {text!r}") from None
    return text


# end_offset=1: the month in progress is a partition too (end-of-day files arrive daily).
QUOTE_MONTHS = dg.MonthlyPartitionsDefinition(
    start_date=first_quote_month(), fmt=MONTH_FORMAT, end_offset=1
)
# Dagster's run tags for a partition range (what `--partition-range` and a single-run
# backfill set).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run materialize the months ``first`` .. ``last``."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def outside_partitions(months: Iterable[str]) -> list[str]:
    """The months that are not quote-month partitions (before the first, or after the
    month in progress), sorted."""
    keys = set(QUOTE_MONTHS.get_partition_keys())
    return sorted({month for month in months if month not in keys})


def contiguous_ranges(months: Iterable[str]) -> list[tuple[str, str]]:
    """The months as (first, last) runs of consecutive partitions, in order: 2020-01,
    2020-02, 2020-05 -> [(2020-01, 2020-02), (2020-05, 2020-05)]. Months outside the
    partitions definition are dropped."""
    keys = QUOTE_MONTHS.get_partition_keys()
    position = {key: i for i, key in enumerate(keys)}
    ordered = sorted({m for m in months if m in position}, key=position.__getitem__)
    ranges: list[tuple[str, str]] = []
    for month in ordered:
        if ranges and position[month] == position[ranges[-1][1]] + 1:
            ranges[-1] = (ranges[-1][0], month)
        else:
            ranges.append((month, month))
    return ranges


def input_month_range(
    input_dir: Path, long_format: LongFormatSpec | None = None
) -> tuple[str, str]:
    """The first and last quote month of the chain files in ``input_dir`` (each file's
    quote-date column only is read). Raises OptvolInputError when there is no file, no
    quote, or a month before the first partition (with what to set). Long-format files
    are read with the mapping ``long_format``."""
    found = scan_quote_months(find_input_files(input_dir), long_format)
    months = sorted({month for file_months in found.values() for month in file_months})
    if not months:
        raise OptvolInputError(f"no option quotes in the files of {input_dir}")
    keys = QUOTE_MONTHS.get_partition_keys()
    if months[0] < keys[0]:
        raise OptvolInputError(
            f"the chains in {input_dir} start in {months[0]}, before the first quote-month "
            f"partition {keys[0]}: set {FIRST_MONTH_ENV}={months[0]} wherever Dagster runs"
        )
    if months[-1] > keys[-1]:
        raise OptvolInputError(
            f"the chains in {input_dir} have quotes dated {months[-1]}, after the month in "
            "progress: check the quote dates (or the machine's clock)"
        )
    return months[0], months[-1]

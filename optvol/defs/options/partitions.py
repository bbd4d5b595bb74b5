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

The months start at the data's first quote month, read when the definitions load (the
month index keeps that cheap), so chains of any year since listed options began need no
setting, and a user with 2020-2022 data sees 2020-01 first, not decades of empty months.
Dynamic partitions were the other way to get there, but they are ordered by when they
were added, so a range such as ``2016-01...2016-12`` would depend on the order files
arrived in; monthly partitions keep the calendar's order and Dagster's time-window tools.
``$OPTVOL_FIRST_QUOTE_MONTH`` still fixes the start where that is wanted.
"""

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.paths import (
    ARTIFACT_PATHS,
    OPTIONS_INPUT_DIR,
    QUOTE_MONTHS_INDEX,
    data_root,
)
from optvol.core.common.storage import artifact_root, is_remote
from optvol.core.options.ingest.long_format import LongFormatSpec
from optvol.core.options.ingest.months import file_quote_months, stored_months

FIRST_MONTH_ENV = "OPTVOL_FIRST_QUOTE_MONTH"
DEFAULT_FIRST_MONTH = "2020-01"
# Listed options began when the Cboe opened, on 26 April 1973: an earlier quote date is
# a wrong date, and taken as the start it would add centuries of empty months.
EARLIEST_MONTH = "1973-04"
MONTH_FORMAT = "%Y-%m"


def _months_of_the_data(root: Path) -> list[str]:
    """The quote months of the option inputs under ``root`` (from the month index, files
    that cannot be read left out) and of the option tables already stored locally."""
    found = file_quote_months(
        root / OPTIONS_INPUT_DIR, index_file=root / QUOTE_MONTHS_INDEX, strict=False
    )
    months = [month for file_months in found.values() for month in file_months]
    store = artifact_root()
    if not is_remote(store):
        for asset in ("raw_option_quotes", "option_quotes"):
            months += stored_months(Path(store) / ARTIFACT_PATHS[asset])
    return [month for month in months if month >= EARLIEST_MONTH]


def first_quote_month(root: Path | None = None) -> str:
    """The first month partition: ``$OPTVOL_FIRST_QUOTE_MONTH`` (``YYYY-MM``) when set,
    else the first quote month of the data under ``root`` (the data root: its option
    input files and the option tables already stored), else 2020-01 (the first month of
    the embedded sample) when there is no data yet."""
    text = os.environ.get(FIRST_MONTH_ENV, "").strip()
    if text:
        try:
            dt.datetime.strptime(text, MONTH_FORMAT)
        except ValueError:
            raise ValueError(
                f"{FIRST_MONTH_ENV} must be a month as YYYY-MM, got {text!r}"
            ) from None
        return text
    return min(_months_of_the_data(root or data_root()), default=DEFAULT_FIRST_MONTH)


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
    quote-date column only is read, and only for files the month index does not know).
    Long-format files are read with the mapping ``long_format``.

    Raises OptvolInputError when there is no file or no quote, a quote dated before
    listed options or after the month in progress, or a month that the partitions of a
    fresh definitions load would not hold (``$OPTVOL_FIRST_QUOTE_MONTH`` set later, or
    ``input_dir`` not the data root's, whose first month the partitions start at).
    """
    root = data_root()
    default_dir = input_dir.absolute() == (root / OPTIONS_INPUT_DIR).absolute()
    found = file_quote_months(
        input_dir, long_format, index_file=root / QUOTE_MONTHS_INDEX if default_dir else None
    )
    months = sorted({month for file_months in found.values() for month in file_months})
    if not months:
        raise OptvolInputError(f"no option quotes in the files of {input_dir}")
    if months[0] < EARLIEST_MONTH:
        raise OptvolInputError(
            f"the chains in {input_dir} have quotes dated {months[0]}, before listed options "
            f"began ({EARLIEST_MONTH}): check the quote dates"
        )
    current = QUOTE_MONTHS.get_last_partition_key()
    if months[-1] > current:
        raise OptvolInputError(
            f"the chains in {input_dir} have quotes dated {months[-1]}, after the month in "
            "progress: check the quote dates (or the machine's clock)"
        )
    start = first_quote_month(root)
    if months[0] < start:
        where = (
            f"{FIRST_MONTH_ENV} is set to {start}"
            if os.environ.get(FIRST_MONTH_ENV, "").strip()
            else f"the partitions start at the first month of {root / OPTIONS_INPUT_DIR}, {start}"
        )
        raise OptvolInputError(
            f"the chains in {input_dir} start in {months[0]}, before the first quote-month "
            f"partition: {where}; set {FIRST_MONTH_ENV}={months[0]} wherever Dagster runs"
        )
    return months[0], months[-1]

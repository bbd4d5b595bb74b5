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

The months start in April 1973, when listed options began, unless
``$OPTVOL_FIRST_QUOTE_MONTH`` (:class:`~optvol.defs.shared.settings.Settings`) names a
later month; the settings give the start when the definitions load, and nothing looks at
the data for it. So chains of any year fit without a setting, and adding older data
never needs the code location reloaded. Months the data does not hold are simply never
materialized: the runs and the sensors name the months the data holds (``optvol
quote-months``, the file sensor's months of each changed file), the models read the
months that were written, and the automation conditions do not wait for missing months.
The price is a long list of empty months in the UI's partition view, which the setting
shortens where that matters.

Starting at the data's first month, read when the definitions load, was the way before:
it made the definitions depend on the disk of the moment, and older chains waited for a
reload. Dynamic partitions would follow the data, but they are ordered by when they were
added, so a range such as ``2016-01...2016-12`` would depend on the order files arrived
in; monthly partitions keep the calendar's order and Dagster's time-window tools.
"""

from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.paths import OPTIONS_INPUT_DIR, QUOTE_MONTHS_INDEX
from optvol.core.options.ingest.long_format import LongFormatSpec
from optvol.core.options.ingest.months import file_quote_months
from optvol.defs.shared.settings import EARLIEST_MONTH, FIRST_MONTH_ENV, MONTH_FORMAT, Settings


def quote_months(first_month: str = EARLIEST_MONTH) -> dg.MonthlyPartitionsDefinition:
    """The quote-month partitions from ``first_month`` to the month in progress
    (``end_offset=1``: end-of-day files arrive daily, so it is a partition too)."""
    return dg.MonthlyPartitionsDefinition(start_date=first_month, fmt=MONTH_FORMAT, end_offset=1)


# What the option assets declare; the definitions start them at the settings' first month
# when they load (optvol.definitions.load_definitions).
QUOTE_MONTHS = quote_months()
# Dagster's run tags for a partition range (what `--partition-range` and a single-run
# backfill set).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run materialize the months ``first`` .. ``last``."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def outside_partitions(
    months: Iterable[str], partitions: dg.PartitionsDefinition = QUOTE_MONTHS
) -> list[str]:
    """The months that are not quote-month ``partitions`` (before the first, or after the
    month in progress), sorted."""
    keys = set(partitions.get_partition_keys())
    return sorted({month for month in months if month not in keys})


def contiguous_ranges(
    months: Iterable[str], partitions: dg.PartitionsDefinition = QUOTE_MONTHS
) -> list[tuple[str, str]]:
    """The months as (first, last) runs of consecutive partitions, in order: 2020-01,
    2020-02, 2020-05 -> [(2020-01, 2020-02), (2020-05, 2020-05)]. Months outside the
    ``partitions`` are dropped."""
    keys = partitions.get_partition_keys()
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
    input_dir: Path, long_format: LongFormatSpec | None = None, settings: Settings | None = None
) -> tuple[str, str]:
    """The first and last quote month of the chain files in ``input_dir`` (each file's
    quote-date column only is read, and only for files the month index does not know).
    Long-format files are read with the mapping ``long_format``.

    Raises OptvolInputError when there is no file or no quote, a quote dated before
    listed options or after the month in progress, or one before the first partition of
    ``settings`` (those of the environment by default: ``$OPTVOL_FIRST_QUOTE_MONTH``).
    """
    settings = settings or Settings.from_env()
    root = settings.data_path
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
    if months[-1] > QUOTE_MONTHS.get_last_partition_key():
        raise OptvolInputError(
            f"the chains in {input_dir} have quotes dated {months[-1]}, after the month in "
            "progress: check the quote dates (or the machine's clock)"
        )
    start = settings.first_quote_month
    if months[0] < start:
        raise OptvolInputError(
            f"the chains in {input_dir} start in {months[0]}, before the first quote-month "
            f"partition: {FIRST_MONTH_ENV} is set to {start}; set it to {months[0]} or "
            "earlier (or unset it) wherever Dagster runs"
        )
    return months[0], months[-1]

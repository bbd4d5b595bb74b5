"""Options pipeline assets: ingest and clean the SPY option chains."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
from pydantic import Field, model_validator

from optvol.assets.ingest import INGEST_RETRY_POLICY, retry_or_fail
from optvol.core.errors import OptvolInputError
from optvol.core.input_files import find_input_files
from optvol.core.long_format import PRESETS, LongFormatSpec, build_spec
from optvol.core.option_cleaning import clean_option_quotes
from optvol.core.option_ingest import read_option_files
from optvol.core.paths import OPTIONS_INPUT_DIR
from optvol.dagster_types import OptionQuotesDataFrame
from optvol.resources import DataRoot

GROUP = "options"
OWNERS = ["team:quant-research"]


class LongFormatConfig(dg.Config):
    """How to read long-format files (one row per option side); see README "Your own data"."""

    preset: str | None = Field(
        default=None, description=f"Start from a named mapping: {sorted(PRESETS)}."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Raw field -> vendor column, e.g. {'underlying_last': 'UnderlyingPrice'}.",
    )
    date_format: str | None = Field(default=None, description="strptime pattern; ISO if unset.")
    call_values: list[str] | None = Field(default=None, description="Spellings of a call.")
    put_values: list[str] | None = Field(default=None, description="Spellings of a put.")
    delimiter: str | None = Field(default=None, description="Field separator; ',' if unset.")
    strike_divisor: float | None = Field(default=None, description="e.g. 1000 for OPRA strikes.")

    @model_validator(mode="after")
    def _check_mapping(self) -> "LongFormatConfig":
        self.to_spec()  # a bad mapping is refused when the run is launched, not mid-run
        return self

    def to_spec(self) -> LongFormatSpec:
        """The reader's mapping: the preset (or the defaults) with these settings on top."""
        settings = ("date_format", "delimiter", "strike_divisor", "call_values", "put_values")
        overrides = {
            name: getattr(self, name) for name in settings if getattr(self, name) is not None
        }
        return build_spec(self.preset, **{**self.columns, **overrides})


class OptionIngestConfig(dg.Config):
    """Where option chains are read from and how long-format files are mapped."""

    input_dir: str | None = Field(
        default=None,
        description=f"Directory of chain files; <data root>/{OPTIONS_INPUT_DIR} if unset.",
    )
    long_format: LongFormatConfig | None = Field(
        default=None, description="Column mapping for long-format files; optionsDX needs none."
    )


@dg.asset(
    group_name=GROUP,
    kinds={"pyarrow", "parquet"},
    owners=OWNERS,
    retry_policy=INGEST_RETRY_POLICY,
)
def raw_option_quotes(
    context: dg.AssetExecutionContext, config: OptionIngestConfig, data_root: DataRoot
) -> dg.Output[pa.Table]:
    """Every option chain file of the input directory, one row per option side, values as
    they came, typed, with the source file and row of each quote."""
    input_dir = Path(config.input_dir) if config.input_dir else data_root.path / OPTIONS_INPUT_DIR
    spec = config.long_format.to_spec() if config.long_format else None
    try:
        files = find_input_files(input_dir)
        for path in files:
            context.log.info("Found input %s (%d bytes)", path, path.stat().st_size)
        table, reports = read_option_files(files, spec)
    except OptvolInputError as err:
        raise retry_or_fail(context, err) from err
    files_table = pd.DataFrame([vars(r) for r in reports]).to_markdown(index=False)
    return dg.Output(
        table,
        metadata={
            "input_dir": dg.MetadataValue.path(str(input_dir)),
            "files": dg.MetadataValue.md(files_table),
            "input_rows": sum(r.input_rows for r in reports),
        },
    )


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "parquet"},
    owners=OWNERS,
    dagster_type=OptionQuotesDataFrame,
)
def option_quotes(context: dg.AssetExecutionContext, raw_option_quotes: pa.Table) -> pd.DataFrame:
    """Clean quotes, one row per (quote_date, expiration, strike, option_type): canonical
    dtypes, duplicates removed, mid/spread/days to expiry/moneyness, and flags for
    unusable quotes (``usable`` is False where any flag is set)."""
    frame, report = clean_option_quotes(raw_option_quotes)
    context.add_output_metadata(
        {
            "usable_rows": report.usable_rows,
            "duplicate_rows": report.duplicate_rows,
            "flags": dg.MetadataValue.json(report.flags),
            "memory_mb_before": round(report.memory_mb_before, 1),
            "memory_mb_after": round(report.memory_mb_after, 1),
            "quote_dates": frame["quote_date"].nunique(),
        }
    )
    return frame

"""Reading option chains: the optionsDX and long formats, quote months, the raw schema
and the cleaning into one typed row per option side and day."""

from optvol.core.options.ingest.clean import (
    FLAG_COLUMNS,
    OPTION_QUOTES_DTYPES,
    OptionCleaningReport,
    clean_option_quotes,
)
from optvol.core.options.ingest.long_format import PRESETS, LongFormatSpec, build_spec
from optvol.core.options.ingest.read import read_option_months, scan_quote_months
from optvol.core.options.ingest.schema import KEY_COLUMNS, RAW_OPTION_SCHEMA

__all__ = [
    "FLAG_COLUMNS",
    "KEY_COLUMNS",
    "LongFormatSpec",
    "OPTION_QUOTES_DTYPES",
    "OptionCleaningReport",
    "PRESETS",
    "RAW_OPTION_SCHEMA",
    "build_spec",
    "clean_option_quotes",
    "read_option_months",
    "scan_quote_months",
]

"""The options pipeline as one Definitions: its assets and their checks."""

import dagster as dg

from optvol.defs.options.assets import (
    gru_model,
    option_evaluation,
    option_quotes,
    option_report,
    raw_option_quotes,
)
from optvol.defs.options.checks import asset_checks

defs = dg.Definitions(
    assets=[raw_option_quotes, option_quotes, gru_model, option_evaluation, option_report],
    asset_checks=asset_checks,
)

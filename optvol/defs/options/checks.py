"""The checks of the option assets, evaluated in each asset's step: the raw and clean
quote tables month by month (schema, null shares, values; blocking on the clean table),
and the evaluation's coverage of the test dates and the GRU against the best baseline."""

import dagster as dg

from optvol.core.options import validation as option_rules
from optvol.core.options.evaluation_file import OptionEvaluationFile
from optvol.defs.shared.checks import (
    evaluation_check_specs,
    model_vs_baseline,
    table_check_specs,
)

RAW_OPTION_CHECKS = table_check_specs(
    "raw_option_quotes", option_rules.RAW_OPTION_NULLS, option_rules.check_raw_option_values,
    blocking=False,
)  # fmt: skip
OPTION_QUOTE_CHECKS = table_check_specs(
    "option_quotes", option_rules.OPTION_QUOTES_NULLS, option_rules.check_option_quote_values,
    blocking=True,
)  # fmt: skip


def covers_every_test_date(option_evaluation: OptionEvaluationFile) -> dg.AssetCheckResult:
    """Every trading day of the test period is scored, for every model on the same rows."""
    expected = option_evaluation.test_calendar_dates
    scored = set(option_evaluation.by_date.date)
    missing = [day for day in expected if day not in scored]
    return dg.AssetCheckResult(
        check_name="covers_every_test_date",
        passed=not missing,
        description=f"{len(expected) - len(missing)} of {len(expected)} test dates scored",
        metadata={
            "test_dates": len(expected),
            "missing_dates": dg.MetadataValue.json(missing[:50]),
            "rows_per_model": dg.MetadataValue.json(
                {name: m.rows for name, m in option_evaluation.overall.items()}
            ),
        },
    )


def gru_vs_best_baseline(option_evaluation: OptionEvaluationFile) -> dg.AssetCheckResult:
    """The GRU's test RMSE against the best baseline's; warns when the GRU loses."""
    comparison = option_evaluation.comparison
    wins = comparison.gru_beats_best_baseline
    return model_vs_baseline(
        "gru_vs_best_baseline",
        wins,
        f"GRU test RMSE {comparison.gru_rmse:.4f} vs {comparison.best_baseline} "
        f"{comparison.best_baseline_rmse:.4f} (ratio "
        f"{comparison.rmse_ratio_to_best_baseline:.3f}): "
        + ("the GRU wins" if wins else "the GRU loses to the best baseline"),
        comparison.model_dump(exclude_unset=True),
    )


EVALUATION_CHECKS = [covers_every_test_date, gru_vs_best_baseline]
OPTION_EVALUATION_CHECKS = evaluation_check_specs(
    "option_evaluation", EVALUATION_CHECKS, blocking=covers_every_test_date
)

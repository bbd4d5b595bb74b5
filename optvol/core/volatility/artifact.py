"""The trained volatility and return models: selection on validation folds, the final fit,
and their files ``<stem>.joblib`` + ``<stem>.json`` (card).

joblib files are pickles, which can run code when loaded; the card records the file's
sha256 and :meth:`VolatilityModel.load` refuses a file that does not match it before
unpickling a byte, so only the file this optvol wrote is ever loaded. The card also
records the scikit-learn version, since pickles are not portable across versions.
"""

from __future__ import annotations

import hashlib
import io
import logging
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.model_files import read_model_files, save_model
from optvol.core.volatility.features import HORIZON, TARGET_COLUMNS, feature_columns
from optvol.core.volatility.market import macro_columns
from optvol.core.volatility.metrics import r_squared
from optvol.core.volatility.models import (
    FittedModel,
    ModelSpec,
    Selection,
    candidate_estimators,
    design_matrix,
    fit_model,
    model_specs,
    select_hyperparameters,
    single_threaded,
    usable_rows,
)

log = logging.getLogger(__name__)

CARD_FORMAT = 1
MODEL_SUFFIX = ".joblib"
VOLATILITY_CANDIDATES = ("ridge", "gbm")
RETURN_FAMILY = "return_ridge"


@dataclass(frozen=True)
class SelectionConfig:
    """How hyperparameters are chosen: on ``validation_folds`` expanding folds over the
    first ``min_train_rows`` usable rows of each model, the data its first walk-forward
    fit sees, so that no later data shape the choice."""

    min_train_rows: int = 504
    validation_folds: int = 4


def data_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the feature table's contents (values, columns and order)."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass
class VolatilityModel:
    """The chosen volatility model, HAR and the return model, fitted on every usable row,
    and the card that says how they were chosen."""

    models: dict[str, FittedModel]
    card: dict

    @property
    def macro(self) -> list[str]:
        return list(self.card["macro_columns"])

    def chosen_estimators(self) -> dict:
        """The estimator (unfitted) chosen for each model, for the walk-forward."""
        specs = self.specs()
        return {
            name: candidate_estimators(specs[name].family)[choice]
            for name, choice in self.card["hyperparameters"].items()
        }

    def specs(self) -> dict[str, ModelSpec]:
        return {name: ModelSpec(**spec) for name, spec in self.card["specs"].items()}

    def check_data(self, features: pd.DataFrame) -> None:
        """Refuse a feature table other than the one the model was trained on."""
        fingerprint = data_fingerprint(features)
        if fingerprint != self.card["data_fingerprint"]:
            raise OptvolInputError(
                "market_features differ from the table this model was trained on "
                f"(fingerprint {fingerprint[:12]} vs {self.card['data_fingerprint'][:12]}): "
                "re-materialize volatility_model"
            )

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Forecasts at each row of a feature table: ``vol`` and ``var`` of the chosen
        model, ``har_vol``, ``har_var``, and ``return`` (21-day log return)."""
        missing = [c for c in feature_columns(self.macro) if c not in features.columns]
        if missing:
            raise OptvolInputError(f"the feature table lacks columns {missing}")
        design = design_matrix(features, self.macro)
        volatility = self.models["volatility"].predict(design)
        har = self.models["har"].predict(design).add_prefix("har_")
        returns = self.models["return"].predict(design)
        return pd.concat([volatility, har, returns], axis=1)

    def save(self, stem: str | Path) -> tuple[Path, Path]:
        """Write ``<stem>.joblib`` and ``<stem>.json`` atomically; return their paths."""
        import joblib

        return save_model(
            stem, MODEL_SUFFIX, lambda buffer: joblib.dump(self.models, buffer), self.card
        )

    @classmethod
    def load(cls, stem: str | Path) -> VolatilityModel:
        """Read a saved model after checking its sha256 against the card."""
        import joblib
        import sklearn

        payload, card = read_model_files(stem, MODEL_SUFFIX, CARD_FORMAT)
        saved_with = card.get("versions", {}).get("scikit-learn")
        if saved_with != sklearn.__version__:
            log.warning("%s was saved with scikit-learn %s, this is %s: re-materialize "
                        "volatility_model if predictions look wrong", stem, saved_with,
                        sklearn.__version__)  # fmt: skip
        try:
            models = joblib.load(io.BytesIO(payload))
        except (ImportError, AttributeError) as error:  # a class it names no longer exists
            raise OptvolInputError(
                f"{Path(stem).with_suffix(MODEL_SUFFIX)} was saved by another version of "
                f"optvol whose model classes have moved or changed ({error}): re-materialize "
                "volatility_model"
            ) from None
        return cls(models, card)


def _in_sample_r2(model: FittedModel, design: pd.DataFrame, target: pd.Series,
                  rows: np.ndarray) -> float:  # fmt: skip
    y = target.to_numpy()[rows]
    x = design[list(model.spec.columns)].to_numpy()[rows]
    fitted = model.estimator.predict(x)
    return r_squared(np.log(y) if model.spec.log_target else y, fitted)


@single_threaded
def train_volatility_model(
    features: pd.DataFrame, config: SelectionConfig = SelectionConfig()
) -> VolatilityModel:
    """Choose each family's hyperparameters on validation folds, choose between the
    volatility families by their best validation MSE of ln RV, and fit the chosen model,
    HAR and the return model on every usable row."""
    features = features.reset_index(drop=True)
    macro = macro_columns(features)
    design = design_matrix(features, macro)
    specs = model_specs(design)
    dates = features["date"]
    selections: dict[str, Selection] = {}
    usable: dict[str, np.ndarray] = {}
    for name, spec in specs.items():
        rows = usable_rows(design, features[spec.target], spec)
        usable[name] = rows
        log.info("%s: %d usable rows of %d (rows lacking an input or the target are left "
                 "out)", name, len(rows), len(features))  # fmt: skip
        if len(rows) < config.min_train_rows:
            raise OptvolInputError(
                f"{name}: only {len(rows)} rows have every input and the target; at least "
                f"min_train_rows={config.min_train_rows} are needed"
            )
        if name != "har":
            window = rows[: config.min_train_rows]
            selections[name] = select_hyperparameters(
                spec, design, features[spec.target], window, config.validation_folds, dates
            )
    chosen = min(VOLATILITY_CANDIDATES, key=lambda f: selections[f].scores[selections[f].chosen])
    log.info("Chosen volatility model: %s (%s)", chosen, selections[chosen].chosen)
    hyperparameters = {name: s.chosen for name, s in selections.items()}
    hyperparameters["har"] = "ols"
    models = {}
    for role, name in (("volatility", chosen), ("har", "har"), ("return", RETURN_FAMILY)):
        estimator = candidate_estimators(specs[name].family)[hyperparameters[name]]
        models[role] = fit_model(specs[name], estimator, design, features[specs[name].target],
                                 usable[name], dates)  # fmt: skip
    card = {
        "format": CARD_FORMAT,
        "chosen_volatility_model": chosen,
        "targets": list(TARGET_COLUMNS),
        "horizon_days": HORIZON,
        "macro_columns": macro,
        "feature_columns": feature_columns(macro),
        "specs": {
            name: spec.__dict__ | {"columns": list(spec.columns)} for name, spec in specs.items()
        },
        "hyperparameters": hyperparameters,
        "selection": {name: s.as_dict() for name, s in selections.items()},
        "selection_config": config.__dict__,
        "models": {
            role: {
                "name": model.spec.name,
                "hyperparameters": hyperparameters[model.spec.name],
                "training_rows": model.training_rows,
                "training_window": list(model.training_window),
                "smearing": {"vol": model.smear_vol, "var": model.smear_var},
                "in_sample_r2": _in_sample_r2(
                    model, design, features[model.spec.target], usable[model.spec.name]
                ),
            }
            for role, model in models.items()
        },  # fmt: skip
        "data": {
            "rows": len(features),
            "first_date": f"{dates.iloc[0]:%Y-%m-%d}",
            "last_date": f"{dates.iloc[-1]:%Y-%m-%d}",
        },
        "data_fingerprint": data_fingerprint(features),
        "versions": {"scikit-learn": _sklearn_version(), "python": platform.python_version()},
    }
    return VolatilityModel(models, card)


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__

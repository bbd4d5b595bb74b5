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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.model_files import read_model_files, save_model
from optvol.core.volatility.adaptive import RULE, AdaptiveConfig
from optvol.core.volatility.baselines import historical_mean_return
from optvol.core.volatility.card import VolatilityCard
from optvol.core.volatility.combination import VIX_MEMBER, ForecastCombination
from optvol.core.volatility.features import HORIZON, TARGET_COLUMNS, TARGET_RV, feature_columns
from optvol.core.volatility.market import macro_columns
from optvol.core.volatility.metrics import r_squared
from optvol.core.volatility.models import (
    UNTUNED_FAMILIES,
    FittedModel,
    ModelSpec,
    candidate_estimators,
    design_matrix,
    fit_model,
    model_specs,
    select_hyperparameters,
    single_threaded,
    usable_rows,
)
from optvol.core.volatility.selection import (
    COMBINATION,
    RETURN_FAMILY,
    choose_return_shrinkage,
    choose_volatility_model,
    restricted_return,
)
from optvol.core.volatility.walk_forward import WalkForward, WalkForwardConfig, walk_forward

log = logging.getLogger(__name__)

MODEL_SUFFIX = ".joblib"
# The candidates of the first window's choice (with their combination), on validation
# QLIKE: the walk-forward's prior until members have a year of out-of-sample losses.
VOLATILITY_CANDIDATES = ("ridge", "gbm", "har_x", "harq")
COMBINATION_RULE = RULE


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
    card: VolatilityCard
    walk: WalkForward | None = None

    @property
    def macro(self) -> list[str]:
        return list(self.card.macro_columns)

    def chosen_estimators(self) -> dict:
        """The estimator (unfitted) chosen for each model, for the walk-forward."""
        specs = self.specs()
        return {
            name: candidate_estimators(specs[name].family)[choice]
            for name, choice in self.card.hyperparameters.items()
        }

    def specs(self) -> dict[str, ModelSpec]:
        return dict(self.card.specs)

    def walk_forward(self, features: pd.DataFrame, config: WalkForwardConfig) -> WalkForward:
        """The expanding-window walk-forward of every model of this one (its specs, chosen
        hyperparameters, first-window choice and return restriction) over ``features``,
        with the combination and the choice adapted at each refit."""
        return walk_forward(
            features,
            design_matrix(features, self.macro),
            self.specs(),
            self.chosen_estimators(),
            config,
            prior=(
                self.card.candidates.chosen,
                self.card.combination.prior_weights,
                self.card.candidates.folds[-1].validation_end,
            ),
            return_shrinkage=self.return_shrinkage,
            adaptive=self.card.adaptive.config,
        )

    def check_data(self, features: pd.DataFrame) -> None:
        """Refuse a feature table other than the one the model was trained on."""
        fingerprint = data_fingerprint(features)
        if fingerprint != self.card.data_fingerprint:
            raise OptvolInputError(
                "market_features differ from the table this model was trained on "
                f"(fingerprint {fingerprint[:12]} vs {self.card.data_fingerprint[:12]}): "
                "re-materialize volatility_model"
            )

    @property
    def chosen_columns(self) -> tuple[str, ...]:
        """The design columns the chosen volatility model reads."""
        model = self.models["volatility"]
        return model.columns if isinstance(model, ForecastCombination) else model.spec.columns

    @property
    def return_shrinkage(self) -> float:
        return float(self.card.return_restriction.shrinkage)

    def predict(
        self, features: pd.DataFrame, historical_mean: np.ndarray | float | None = None
    ) -> pd.DataFrame:
        """Forecasts at each row of a feature table: ``vol`` and ``var`` of the chosen
        model, ``har_vol``, ``har_var``, ``return_ridge`` (the ridge's 21-day log return)
        and ``return``: the restricted forecast, from ``historical_mean`` (the mean
        realized 21-day return known at each row; missing without it)."""
        missing = [c for c in feature_columns(self.macro) if c not in features.columns]
        if missing:
            raise OptvolInputError(f"the feature table lacks columns {missing}")
        design = design_matrix(features, self.macro)
        volatility = self.models["volatility"].predict(design)
        har = self.models["har"].predict(design).add_prefix("har_")
        raw = self.models["return"].predict(design)["return"].to_numpy()
        mean = np.full(len(raw), np.nan if historical_mean is None else historical_mean, float)
        returns = pd.DataFrame(
            {"return_ridge": raw, "return": restricted_return(raw, mean, self.return_shrinkage)},
            index=design.index,
        )
        return pd.concat([volatility, har, returns], axis=1)

    def save(self, stem: str | Path) -> tuple[Path, Path]:
        """Write ``<stem>.joblib`` and ``<stem>.json`` atomically; return their paths."""
        import joblib

        # Wall-clock times live in the card, so that the same fit writes the same bytes.
        walk = None if self.walk is None else replace(self.walk, seconds=0.0, fit_seconds={})
        payload = {"models": self.models, "walk_forward": walk}
        return save_model(
            stem, MODEL_SUFFIX, lambda buffer: joblib.dump(payload, buffer), self.card
        )

    @classmethod
    def load(cls, stem: str | Path) -> VolatilityModel:
        """Read a saved model after checking its sha256 against the card."""
        import joblib
        import sklearn

        payload, card = read_model_files(stem, MODEL_SUFFIX, VolatilityCard)
        saved_with = card.versions.get("scikit-learn")
        if saved_with != sklearn.__version__:
            log.warning("%s was saved with scikit-learn %s, this is %s: re-materialize "
                        "volatility_model if predictions look wrong", stem, saved_with,
                        sklearn.__version__)  # fmt: skip
        try:
            saved = joblib.load(io.BytesIO(payload))
        except (ImportError, AttributeError) as error:  # a class it names no longer exists
            raise OptvolInputError(
                f"{Path(stem).with_suffix(MODEL_SUFFIX)} was saved by another version of "
                f"optvol whose model classes have moved or changed ({error}): re-materialize "
                "volatility_model"
            ) from None
        walk = saved["walk_forward"]
        if walk is not None:
            timing = card.adaptive.timing
            walk = replace(walk, seconds=timing.seconds, fit_seconds=timing.seconds_by_model)
        return cls(saved["models"], card, walk)


def _in_sample_r2(model, design: pd.DataFrame, target: pd.Series, rows: np.ndarray) -> float:
    """R^2 on the training rows: of ln RV for a volatility model (the log forecast before
    smearing; a combination's from its combined volatility), of the return for the return
    model."""
    y = target.to_numpy()[rows]
    if isinstance(model, ForecastCombination):
        fitted = np.log(model.predict(design.iloc[rows])["vol"].to_numpy())
        return r_squared(np.log(y), fitted)
    x = design[list(model.spec.columns)].to_numpy()[rows]
    fitted = model.estimator.predict(x)
    return r_squared(np.log(y) if model.spec.log_target else y, fitted)


@single_threaded
def train_volatility_model(
    features: pd.DataFrame,
    config: SelectionConfig = SelectionConfig(),
    walk_config: WalkForwardConfig | None = None,
    adaptive: AdaptiveConfig | None = None,
) -> VolatilityModel:
    """Choose each regression's hyperparameters on validation folds of its first window
    (MSE), the first window's volatility candidate and combination weights on common
    validation folds (QLIKE), and the return forecast's shrinkage (Campbell & Thompson);
    walk forward over every month from the first window on, adapting the combination's
    weights and the choice at each refit from past out-of-sample losses; and fit the
    last refit's choice (the one served), HAR and the return model on every usable row."""
    features = features.reset_index(drop=True)
    macro = macro_columns(features)
    design = design_matrix(features, macro)
    specs = model_specs(design)
    dates = features["date"]
    usable = {name: _usable(name, spec, design, features, config) for name, spec in specs.items()}
    selections = {
        name: select_hyperparameters(
            spec,
            design,
            features[spec.target],
            usable[name][: config.min_train_rows],
            config.validation_folds,
            dates,
        )  # fmt: skip
        for name, spec in specs.items()
        if spec.family not in UNTUNED_FAMILIES
    }
    hyperparameters = {name: s.chosen for name, s in selections.items()}
    for name, spec in specs.items():
        hyperparameters.setdefault(name, UNTUNED_FAMILIES.get(spec.family, ""))
    estimators = {
        name: candidate_estimators(specs[name].family)[choice]
        for name, choice in hyperparameters.items()
    }
    choice = choose_volatility_model(
        specs, estimators, design, features, usable, VOLATILITY_CANDIDATES,
        config.min_train_rows, config.validation_folds,
    )  # fmt: skip
    historical_mean = historical_mean_return(features).to_numpy()
    restriction = choose_return_shrinkage(
        specs[RETURN_FAMILY], estimators[RETURN_FAMILY], design, features,
        usable[RETURN_FAMILY][: config.min_train_rows], historical_mean, config.validation_folds,
    )  # fmt: skip
    walk_config = walk_config or WalkForwardConfig(min_train_rows=config.min_train_rows)
    adaptive = adaptive or AdaptiveConfig()
    walk = walk_forward(
        features, design, specs, estimators, walk_config,
        prior=(choice.chosen, choice.weights, choice.folds[-1]["validation_end"]),
        return_shrinkage=restriction["shrinkage"],
        adaptive=adaptive,
    )  # fmt: skip
    latest = walk.latest

    def fitted(name: str) -> FittedModel:
        spec = specs[name]
        return fit_model(spec, estimators[name], design, features[spec.target], usable[name],
                         dates)  # fmt: skip

    if latest.chosen == COMBINATION:
        volatility = ForecastCombination(
            {m: fitted(m) for m, w in latest.weights.items() if w and m != VIX_MEMBER},
            {m: w for m, w in latest.weights.items() if w},
        )
    elif latest.chosen == VIX_MEMBER:
        volatility = ForecastCombination({}, {VIX_MEMBER: 1.0})
    else:
        volatility = fitted(latest.chosen)
    models = {"volatility": volatility, "har": fitted("har"), "return": fitted(RETURN_FAMILY)}
    log.info("Served volatility model: %s (the walk-forward's choice after its last refit; "
             "weights %s)", latest.chosen, latest.weights)  # fmt: skip
    card = _card(features, specs, hyperparameters, selections, choice, restriction, models,
                 design, usable, config, walk)  # fmt: skip
    card["chosen_volatility_model"] = latest.chosen
    card["combination"] = {"weights": latest.weights, "prior_weights": choice.weights,
                           "rule": COMBINATION_RULE}  # fmt: skip
    card["adaptive"] = {"config": adaptive.to_dict(), "latest": latest.as_dict(),
                        "walk_forward": walk_config.to_dict(),
                        "timing": {"seconds": walk.seconds,
                                   "seconds_by_model": walk.fit_seconds}}  # fmt: skip
    return VolatilityModel(models, VolatilityCard.build(card), walk)


def _usable(
    name: str, spec: ModelSpec, design: pd.DataFrame, features: pd.DataFrame, config
) -> np.ndarray:
    """The rows ``spec`` can train on; refuses a model with fewer than min_train_rows."""
    rows = usable_rows(design, features[spec.target], spec)
    log.info("%s: %d usable rows of %d (rows lacking an input or the target are left out)",
             name, len(rows), len(features))  # fmt: skip
    if len(rows) < config.min_train_rows:
        raise OptvolInputError(
            f"{name}: only {len(rows)} rows have every input and the target; at least "
            f"min_train_rows={config.min_train_rows} are needed"
        )
    return rows


def _model_record(
    model, hyperparameters: dict, design, features, usable, weights_span: tuple[str, str]
) -> dict:
    """The card's entry of one fitted model. A combination lists its members; its rows are
    those with every input it reads and the target, and its training window spans its
    members' and the days whose out-of-sample losses set its weights (``weights_span``), since
    a forecast on any of them is in-sample."""
    if isinstance(model, ForecastCombination):
        target = features[TARGET_RV]
        has_inputs = design[list(model.columns)].notna().all(axis=1) & target.gt(0)
        rows = np.flatnonzero(has_inputs.to_numpy())
        spans = [weights_span, *(m.training_window for m in model.members.values())]
        return {
            "name": COMBINATION,
            "hyperparameters": model.weights,
            "members": {
                m: _model_record(member, hyperparameters, design, features, usable, weights_span)
                for m, member in model.members.items()
            },
            "training_rows": int(len(rows)),
            "training_window": [min(s[0] for s in spans), max(s[1] for s in spans)],
            "in_sample_r2": _in_sample_r2(model, design, target, rows),
        }
    return {
        "name": model.spec.name,
        "hyperparameters": hyperparameters[model.spec.name],
        "training_rows": model.training_rows,
        "training_window": list(model.training_window),
        "smearing": {"vol": model.smear_vol, "var": model.smear_var},
        "in_sample_r2": _in_sample_r2(
            model, design, features[model.spec.target], usable[model.spec.name]
        ),
    }


def _card(features, specs, hyperparameters, selections, choice, restriction, models, design,
          usable, config, walk) -> dict:  # fmt: skip
    dates = features["date"]
    macro = macro_columns(features)
    # The served weights and choice read every out-of-sample loss realized by the data's end.
    realized = dates[features[TARGET_RV].notna()]
    last = f"{realized.iloc[-1]:%Y-%m-%d}" if len(realized) else walk.refits[-1]
    weights_span = (min(walk.refits[0], choice.folds[0]["validation_start"]), last)
    return {
        "targets": list(TARGET_COLUMNS),
        "horizon_days": HORIZON,
        "macro_columns": macro,
        "feature_columns": feature_columns(macro),
        "specs": {
            name: spec.__dict__ | {"columns": list(spec.columns)} for name, spec in specs.items()
        },
        "hyperparameters": hyperparameters,
        "selection": {name: s.as_dict() for name, s in selections.items()},
        "candidates": choice.as_dict(),
        "return_restriction": restriction,
        "selection_config": config.__dict__,
        "models": {
            role: _model_record(model, hyperparameters, design, features, usable, weights_span)
            for role, model in models.items()
        },
        "data": {
            "rows": len(features),
            "first_date": f"{dates.iloc[0]:%Y-%m-%d}",
            "last_date": f"{dates.iloc[-1]:%Y-%m-%d}",
        },
        "data_fingerprint": data_fingerprint(features),
        "versions": {"scikit-learn": _sklearn_version(), "python": platform.python_version()},
    }


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__

"""The materialized models and data the API and the dashboard serve, loaded once.

Everything is read from the data root as the assets wrote it: the GRU's weights
(``torch.load(weights_only=True)``), the volatility models (unpickled only after their
sha256 matches the card written with them), the clean tables they were trained on
(checked by fingerprint) and the evaluation documents (JSON). Nothing a client sends is
ever deserialised beyond JSON. A part that cannot be loaded is reported with the asset
to materialize; the other part is still served.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.model_files import ModelCard
from optvol.core.common.paths import ARTIFACT_PATHS, PLOTS_DIR
from optvol.core.options.evaluation_file import OptionEvaluationFile
from optvol.core.volatility.evaluation_file import VolatilityEvaluationFile

log = logging.getLogger(__name__)

MODELS = ("options", "volatility")
# The assets each served model needs, in the order they are materialized.
ASSETS_OF = {
    "options": ("option_quotes", "gru_model"),
    "volatility": ("market_features", "volatility_model"),
}
EVALUATION_OF = {"options": "option_evaluation", "volatility": "volatility_evaluation"}


def materialize_hint(asset: str) -> str:
    # What depends on the quote-month partitions needs their range.
    partitioned = asset in (*ASSETS_OF["options"], EVALUATION_OF["options"])
    months = ' --partition-range "$(optvol quote-months)"' if partitioned else ""
    return (
        f"materialize {asset} and what it depends on: dagster asset materialize "
        f"-m optvol.definitions --select '+{asset}'{months} (or run optvol demo)"
    )


@dataclass
class ModelStatus:
    """Whether a model is served, and what identifies it."""

    name: str
    loaded: bool = False
    error: str | None = None
    version: str | None = None
    saved_at: str | None = None
    trained_on: dict[str, list[str]] = field(default_factory=dict)
    description: str | None = None
    evaluation: bool = False

    def as_dict(self) -> dict:
        return {
            "loaded": self.loaded,
            "version": self.version,
            "saved_at": self.saved_at,
            "trained_on": self.trained_on,
            "model": self.description,
            "evaluation_loaded": self.evaluation,
            "error": self.error,
        }


@dataclass
class ServedModels:
    """The predictors (None where not loaded), the evaluations and the plots folder."""

    data_root: Path
    options: object | None = None  # OptionPredictor
    volatility: object | None = None  # VolatilityPredictor
    evaluations: dict[str, OptionEvaluationFile | VolatilityEvaluationFile] = field(
        default_factory=dict
    )
    # Why an evaluation is not loaded (missing, or the file's one validation message).
    evaluation_errors: dict[str, str] = field(default_factory=dict)
    status: dict[str, ModelStatus] = field(default_factory=dict)

    @property
    def plots_dir(self) -> Path:
        return self.data_root / PLOTS_DIR

    def loaded(self) -> list[str]:
        return [name for name in MODELS if self.status[name].loaded]

    def require(self, name: str):
        """The predictor ``name``, or an :class:`ModelUnavailable` saying why it is not."""
        predictor = getattr(self, name)
        if predictor is None:
            raise ModelUnavailable(name, self.status[name].error or "not loaded")
        return predictor

    def evaluation(self, name: str) -> OptionEvaluationFile | VolatilityEvaluationFile:
        if name not in self.evaluations:
            raise ModelUnavailable(name, self.evaluation_errors[name])
        return self.evaluations[name]

    def relative(self, text: str) -> str:
        """``text`` with the paths under the data root written relative to it: a client
        learns which artifact is missing, not where the server keeps its files."""
        root = str(self.data_root)
        return text.replace(root + os.sep, "").replace(root, "<data root>")

    @classmethod
    def load(cls, data_root: str | Path) -> ServedModels:
        """Load every model the data root holds; log what is served and what is not."""
        served = cls(Path(data_root).absolute())
        for name in MODELS:
            status = ModelStatus(name)
            served.status[name] = status
            try:
                loader = _load_options if name == "options" else _load_volatility
                setattr(served, name, loader(served.data_root, status))
                status.loaded = True
            except Exception as error:  # noqa: BLE001 - one model's failure is that model's
                # A malformed card is refused by its validation, in one message naming the
                # field; whatever else a foreign model file raises (bytes that do not
                # unpickle into optvol's classes) refuses this model only, and the other is
                # still served.
                reason = (
                    str(error)
                    if isinstance(error, OptvolInputError | OSError)
                    else f"its model file cannot be loaded ({type(error).__name__}: {error})"
                )
                log.error("The %s model is not served: %s", name, reason)
                status.error = served.relative(reason)
            try:
                served.evaluations[name] = _read_evaluation(served.data_root, name)
                status.evaluation = True
            except OptvolInputError as error:
                log.warning("The %s evaluation is not served: %s", name, error)
                served.evaluation_errors[name] = served.relative(str(error))
            if status.loaded:
                log.info(
                    "Serving the %s model %s (version %s, saved %s)",
                    name, status.description, status.version, status.saved_at,
                )  # fmt: skip
        if served.volatility is not None and "volatility" in served.evaluations:
            served.volatility.use_evaluation(served.evaluations["volatility"])
        return served


class ModelUnavailable(Exception):
    """A request needs a model or evaluation that is not loaded."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"the {name} model is not available: {reason}")
        self.name = name


def _required_files(root: Path, name: str) -> dict[str, Path]:
    """The files of the assets model ``name`` needs; refuse with every missing one and
    the assets to materialize."""
    files = {asset: root / ARTIFACT_PATHS[asset] for asset in ASSETS_OF[name]}
    model_asset = ASSETS_OF[name][-1]
    card = files[model_asset].with_suffix(".json")
    missing = [(p, a) for a, p in (*files.items(), (model_asset, card)) if not p.exists()]
    if missing:
        listed = ", ".join(f"{path} (asset {asset})" for path, asset in missing)
        raise OptvolInputError(f"missing {listed}: {materialize_hint(model_asset)}")
    return files


def _identify(status: ModelStatus, card: ModelCard, model_path: Path) -> None:
    status.version = card.file.sha256[:12]
    saved_at = card.file.saved_at
    if saved_at is None:  # a card written before it recorded the time
        stamp = datetime.fromtimestamp(model_path.stat().st_mtime, tz=timezone.utc)
        saved_at = f"{stamp.isoformat(timespec='seconds')} (the file's mtime)"
    status.saved_at = saved_at


def _load_options(root: Path, status: ModelStatus):
    from optvol.core.common.parquet import read_partitions
    from optvol.core.options.gru.artifact import TrainedGRU
    from optvol.core.options.prediction import OptionPredictor

    files = _required_files(root, "options")
    weights = files["gru_model"]
    model = TrainedGRU.load(weights.with_suffix(""))
    _identify(status, model.card, weights)
    status.trained_on = {k: list(v) for k, v in model.card.split_dates.items()}
    architecture = model.card.architecture
    status.description = (
        f"OptionGRU (hidden {architecture.hidden_size}, "
        f"{architecture.num_layers} layer(s), L={model.card.samples.sequence_length})"
    )
    months = sorted(files["option_quotes"].glob("*.parquet"))
    if not months:
        raise OptvolInputError(
            f"{files['option_quotes']} holds no month: {materialize_hint('option_quotes')}"
        )
    return OptionPredictor(model, read_partitions(months))


def _load_volatility(root: Path, status: ModelStatus):
    from optvol.core.common.parquet import read_frame
    from optvol.core.volatility.artifact import VolatilityModel
    from optvol.core.volatility.prediction import VolatilityPredictor

    files = _required_files(root, "volatility")
    model_path = files["volatility_model"]
    model = VolatilityModel.load(model_path.with_suffix(""))
    _identify(status, model.card, model_path)
    status.trained_on = {
        role: list(entry.training_window) for role, entry in model.card.models.items()
    }
    chosen = model.card.chosen_volatility_model
    settings = model.card.models["volatility"].hyperparameters
    status.description = (
        f"{chosen}, the walk-forward's choice after its last refit ({settings}), HAR and "
        "return_ridge "
        f"({model.card.hyperparameters['return_ridge']}) restricted with shrinkage "
        f"{model.return_shrinkage:g}"
    )
    return VolatilityPredictor(model, read_frame(files["market_features"]))


def _read_evaluation(root: Path, name: str) -> OptionEvaluationFile | VolatilityEvaluationFile:
    """The evaluation of model ``name``, validated; an :class:`OptvolInputError` with the
    file's one message (and the command that writes it) when it is missing or malformed."""
    asset = EVALUATION_OF[name]
    path = root / ARTIFACT_PATHS[asset]
    if not path.exists():
        raise OptvolInputError(f"{path} does not exist: {materialize_hint(asset)}")
    evaluation_file = OptionEvaluationFile if name == "options" else VolatilityEvaluationFile
    return evaluation_file.read(path)

"""Run config derived from core's dataclasses: every dataclass field is a config field
with the dataclass's default, under the name the YAML has always used, and the config
builds the dataclasses the steps run with."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from optvol.core.options.gru.config import TrainingConfig
from optvol.core.options.samples import SampleConfig
from optvol.core.volatility.adaptive import AdaptiveConfig
from optvol.core.volatility.artifact import SelectionConfig
from optvol.core.volatility.walk_forward import WalkForwardConfig
from optvol.defs.options.config import GruModelConfig
from optvol.defs.shared.config import config_of
from optvol.defs.volatility.config import VolatilityModelConfig

RENAMED = {"start": "walk_forward_start", "half_life_days": "weight_half_life_days"}
CASES = [(GruModelConfig, kind) for kind in (SampleConfig, TrainingConfig)] + [
    (VolatilityModelConfig, kind) for kind in (SelectionConfig, WalkForwardConfig, AdaptiveConfig)
]


@pytest.mark.parametrize(("config", "kind"), CASES, ids=lambda x: x.__name__)
def test_every_dataclass_field_is_a_config_field_with_its_default(config, kind):
    for field in dataclasses.fields(kind):
        name = (
            RENAMED.get(field.name, field.name) if config is VolatilityModelConfig else field.name
        )
        assert name in config.model_fields, (kind.__name__, field.name)
        assert config.model_fields[name].default == field.default, name
        assert config.model_fields[name].description, name
    assert config().build(kind) == kind()  # the defaults build the dataclass's defaults


def test_the_yaml_users_write_builds_the_same_dataclasses():
    config = VolatilityModelConfig(
        min_train_rows=300, walk_forward_start="2010-01-04", weight_half_life_days=126
    )
    assert config.build(SelectionConfig) == SelectionConfig(min_train_rows=300)
    assert config.build(WalkForwardConfig) == WalkForwardConfig(300, start="2010-01-04")
    assert config.build(AdaptiveConfig) == AdaptiveConfig(half_life_days=126)
    gru = GruModelConfig(sequence_length=10, epochs=2)
    assert gru.sample_config().sequence_length == 10 and gru.training_config().epochs == 2


def test_a_value_the_dataclass_or_the_bounds_refuse_is_refused_at_launch():
    with pytest.raises(ValidationError, match="min_history_days must be at least 1"):
        VolatilityModelConfig(min_history_days=0)
    with pytest.raises(ValidationError, match="greater than or equal to 84"):
        VolatilityModelConfig(min_train_rows=50)


def test_a_field_added_to_a_dataclass_appears_without_a_second_edit():
    @dataclasses.dataclass(frozen=True)
    class Knobs:
        depth: int = 3
        rate: float = 0.5

    config = config_of("KnobsConfig", Knobs, doc="", module=__name__, descriptions={})
    assert {name: f.default for name, f in config.model_fields.items()} == {
        "depth": 3, "rate": 0.5,
    }  # fmt: skip
    assert config(rate=0.25).build(Knobs) == Knobs(rate=0.25)

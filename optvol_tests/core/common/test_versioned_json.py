"""Every typed file (the two evaluation documents and the two model cards) as the assets
write it: read and written again byte for byte, and each way a file can be broken refused
in one message that names the file and the first bad field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.paths import ARTIFACT_PATHS
from optvol.core.common.versioned_json import VersionedFile
from optvol.core.options.evaluation_file import OptionEvaluationFile
from optvol.core.options.gru.card import GruCard
from optvol.core.volatility.card import VolatilityCard
from optvol.core.volatility.evaluation_file import VolatilityEvaluationFile

# asset -> (its typed file, a required field, a field set to a value of the wrong type)
FILES = {
    "option_evaluation": (OptionEvaluationFile, "comparison", ("comparison", "gru_rmse")),
    "volatility_evaluation": (VolatilityEvaluationFile, "series", ("walk_forward", "refits")),
    "gru_model": (GruCard, "scalers", ("architecture", "hidden_size")),
    "volatility_model": (VolatilityCard, "combination", ("return_restriction", "shrinkage")),
}


def file_path(root: Path, asset: str) -> Path:
    path = root / ARTIFACT_PATHS[asset]
    return path if path.suffix == ".json" else path.with_suffix(".json")


@pytest.fixture(params=FILES)
def written(request, served_root, tmp_path) -> tuple[type[VersionedFile], Path, str]:
    """A copy of one typed file as its asset wrote it, its type and its asset."""
    asset = request.param
    path = tmp_path / file_path(served_root, asset).name
    shutil.copyfile(file_path(served_root, asset), path)
    return FILES[asset][0], path, asset


def refused(kind: type[VersionedFile], path: Path) -> str:
    """The one message reading ``path`` is refused with; no chained error behind it."""
    with pytest.raises(OptvolInputError) as caught:
        kind.read(path)
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_file_read_and_written_again_is_the_same(written):
    kind, path, _ = written
    document = kind.read(path)
    assert document.text() == path.read_text()
    assert document.format == kind.FORMAT
    assert kind.parse(json.loads(document.text()), path) == document


def test_a_missing_file_is_refused_with_the_asset_to_materialize(written):
    kind, path, asset = written
    path.unlink()
    assert f"does not exist: re-materialize {asset}" in refused(kind, path)


def test_an_empty_file_is_refused(written):
    kind, path, _ = written
    path.write_text("\n")
    assert "is empty" in refused(kind, path)


def test_a_truncated_file_is_refused(written):
    kind, path, _ = written
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    assert "not JSON" in refused(kind, path) and "truncated" in refused(kind, path)


def test_a_json_value_that_is_not_an_object_is_refused(written):
    kind, path, _ = written
    path.write_text("[1, 2]")
    assert "holds a JSON list, not an object" in refused(kind, path)


@pytest.mark.parametrize("version", ["other", "absent"])
def test_another_format_version_is_refused_with_the_asset_to_materialize(written, version):
    kind, path, asset = written
    document = json.loads(path.read_text())
    if version == "absent":  # written before the format was recorded
        del document["format"]
    else:
        document["format"] = kind.FORMAT + 1
    path.write_text(json.dumps(document))
    found = None if version == "absent" else kind.FORMAT + 1
    message = refused(kind, path)
    assert f": {kind.KIND} of format {found}; this optvol reads format {kind.FORMAT}" in message
    assert message.endswith(f"re-materialize {asset}")


def test_a_missing_field_is_named(written):
    kind, path, asset = written
    document = json.loads(path.read_text())
    field = FILES[asset][1]
    del document[field]
    path.write_text(json.dumps(document))
    assert f"is not a valid {kind.KIND}: {field} is missing" in refused(kind, path)


def test_a_field_of_the_wrong_type_is_named_with_the_value_found(written):
    kind, path, asset = written
    document = json.loads(path.read_text())
    section, field = FILES[asset][2]
    document[section][field] = "many"
    path.write_text(json.dumps(document))
    message = refused(kind, path)
    assert f"{section}.{field}: input should be a valid" in message
    assert "(found 'many')" in message


def test_an_unknown_field_is_refused(written):
    kind, path, _ = written
    document = json.loads(path.read_text())
    document["surprise"] = 1
    path.write_text(json.dumps(document))
    assert "surprise: extra inputs are not permitted" in refused(kind, path)


def test_what_the_writers_build_is_what_a_reader_reads(tmp_path, one_torch_thread):
    """Writer -> file -> reader, for each file: the object read equals the one built."""
    from optvol.core.options.evaluation import evaluate_option_models
    from optvol.core.volatility.evaluation import evaluate_volatility
    from optvol_tests.evaluation_fixtures import option_run, volatility_run

    quotes, gru, _ = option_run(tmp_path / "plots")
    features, volatility, _ = volatility_run(tmp_path / "plots")
    card = volatility.card
    built = {
        "evaluation": evaluate_option_models(quotes, gru).metrics,
        "volatility_evaluation": evaluate_volatility(
            volatility.walk, volatility.specs(), card.chosen_volatility_model, card, features
        ),
    }
    for name, document in built.items():
        path = tmp_path / f"{name}.json"
        path.write_text(document.text())
        assert type(document).read(path) == document
    for name, model in (("gru_model", gru), ("volatility_model", volatility)):
        model.save(tmp_path / name)
        assert type(model.card).read(tmp_path / f"{name}.json") == model.card


@pytest.mark.parametrize("value", ["1.5", True], ids=["number as text", "boolean"])
def test_a_value_json_gives_as_another_type_is_refused_not_converted(written, value):
    kind, path, asset = written
    document = json.loads(path.read_text())
    section, field = FILES[asset][2]
    document[section][field] = value
    path.write_text(json.dumps(document))
    message = refused(kind, path)
    assert f"{section}.{field}: input should be a valid" in message
    assert f"(found {value!r})" in message


def test_a_non_finite_number_is_refused(written):
    kind, path, asset = written
    document = json.loads(path.read_text())
    section, field = FILES[asset][2]
    document[section][field] = float("inf")
    path.write_text(json.dumps(document))  # Python's json writes it as Infinity
    assert f"{section}.{field}:" in refused(kind, path)


@pytest.mark.parametrize(
    ("card", "settings"),
    [(GruCard, ("training",)), (VolatilityCard, ("adaptive", "config"))],
    ids=["gru training", "volatility adaptive config"],
)
def test_an_unknown_entry_of_recorded_settings_is_refused_not_dropped(
    served_root, tmp_path, card, settings
):
    asset = "gru_model" if card is GruCard else "volatility_model"
    document = json.loads(file_path(served_root, asset).read_text())
    inner = document
    for key in settings:
        inner = inner[key]
    inner["surprise"] = 1
    path = tmp_path / "card.json"
    path.write_text(json.dumps(document))
    message = refused(card, path)
    assert ".".join(settings) in message and "unknown entries ['surprise']" in message

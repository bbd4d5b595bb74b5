"""The IO managers under a remote root: a real S3-compatible server (moto in server mode)
on loopback, reached through s3fs exactly as a bucket on AWS would be."""

import json
import socket
import urllib.request
import uuid

import boto3
import dagster as dg
import pandas as pd
import pytest
import torch
from moto.server import ThreadedMotoServer
from s3fs import S3FileSystem

from optvol.core.common.errors import OptvolInputError
from optvol.core.common.parquet import read_frame, with_notes, write_parquet
from optvol.core.common.partitioned import LazyTables
from optvol.core.common.storage import artifact_root, is_remote
from optvol.core.options.gru.artifact import TrainedGRU
from optvol.core.options.gru.card import GruCard
from optvol.defs.io_managers import JsonIOManager, ModelIOManager, ParquetIOManager

BUCKET = "optvol-artifacts"
CREDENTIALS = {"key": "testing", "secret": "testing"}
# Short timeouts and one retry: a test against a broken endpoint fails fast, never hangs.
CLIENT_CONFIG = {"connect_timeout": 2, "read_timeout": 20, "retries": {"max_attempts": 2}}
MONTHS = dg.MonthlyPartitionsDefinition(start_date="2020-01", end_date="2020-04", fmt="%Y-%m")


@pytest.fixture(scope="module")
def endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    s3_client(url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def s3_client(endpoint_url: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=CREDENTIALS["key"],
        aws_secret_access_key=CREDENTIALS["secret"],
        region_name="us-east-1",
    )


@pytest.fixture
def prefix() -> str:
    """A prefix of its own for each test, so tests do not see each other's objects."""
    return f"run-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def resources(endpoint, prefix) -> dict:
    options = {
        "endpoint_url": endpoint,
        **CREDENTIALS,
        "client_kwargs": {"region_name": "us-east-1"},
        "config_kwargs": CLIENT_CONFIG,
    }
    root = f"s3://{BUCKET}/{prefix}"
    return {
        "io_manager": ParquetIOManager(root=root, storage_options=options),
        "model_io_manager": ModelIOManager(root=root, storage_options=options),
        "json_io_manager": JsonIOManager(root=root, storage_options=options),
    }


def object_keys(endpoint: str, prefix: str) -> list[str]:
    listing = s3_client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
    return sorted(item["Key"].removeprefix(f"{prefix}/") for item in listing.get("Contents", []))


def object_bytes(endpoint: str, key: str) -> bytes:
    return s3_client(endpoint).get_object(Bucket=BUCKET, Key=key)["Body"].read()


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return str(failure.event_specific_data.error)


def quotes(month: str = "2020-01") -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "quote_date": pd.to_datetime([f"{month}-02", f"{month}-03"]),
            "option_type": pd.Categorical(["C", "P"]),
            "volume": pd.array([7, None], dtype="Int32"),
            "mid": [1.25, 2.5],
        }
    )
    return with_notes(frame, {"sources": [{"label": f"spy_{month}.txt"}]})


def small_gru() -> TrainedGRU:
    """A tiny OptionGRU with a card that passes the loader's checks."""
    from optvol.core.options.gru.training import TrainingConfig, build_model
    from optvol.core.options.samples import SampleConfig
    from optvol.core.options.samples.features import (
        DRIVER_FEATURES,
        HISTORY_FEATURES,
        SEQUENCE_FEATURES,
        SLOPE_FEATURES,
        STATE_FEATURES,
        STATIC_FEATURES,
    )

    architecture = {
        "sequence_features": len(SEQUENCE_FEATURES), "static_features": len(STATIC_FEATURES),
        "hidden_size": 2, "num_layers": 1, "dropout": 0.0, "head_size": 4,
        "max_correction": 0.1, "shrinkage": 1.0, "drivers": len(DRIVER_FEATURES),
        "slope_columns": [STATE_FEATURES.index(name) for name in SLOPE_FEATURES],
        "slope_size": 2,
    }  # fmt: skip
    widths = {"static": len(STATIC_FEATURES), "history": len(HISTORY_FEATURES),
              "underlying_return": 1}  # fmt: skip
    card = GruCard.build({
        "model": "OptionGRU", "target": "tiny", "architecture": architecture,
        "training": TrainingConfig(hidden_size=2, head_size=4, slope_size=2).to_dict(),
        "samples": SampleConfig().to_dict(),
        "features": {"sequence": list(SEQUENCE_FEATURES), "static": list(STATIC_FEATURES)},
        "anchor": {"anchor": "practitioner_bs", "rmse": {}, "rows": 0, "days": 0, "on": "none"},
        "carry": {"shrinkage": 1.0, "training_rmse": {}},
        "scalers": {name: {"mean": [0.0] * n, "std": [1.0] * n} for name, n in widths.items()}
        | {"price_scale": 1.0},
        "split_dates": {"train": ["2020-01-02"]}, "sample_counts": {}, "data_fingerprint": "",
        "history": [],
        "metrics": {"best_epoch": 0, "epochs_run": 0, "best_validation_loss": None,
                    "training_seconds": 0.0, "samples_per_second": None,
                    "correction_bound": 0.1, "shrinkage": None},
        "fitted_baselines": {}, "device": "cpu", "versions": {},
    })  # fmt: skip
    return TrainedGRU(build_model(architecture).state_dict(), card)


def test_a_dataframe_round_trips_through_the_bucket(endpoint, prefix, resources, tmp_path):
    frame = quotes()
    received = {}

    @dg.asset
    def market_features() -> pd.DataFrame:
        return frame

    @dg.asset
    def consumer(market_features: pd.DataFrame) -> None:
        received["frame"] = market_features

    result = dg.materialize([market_features, consumer], resources=resources)
    assert result.success
    pd.testing.assert_frame_equal(received["frame"], frame)
    assert received["frame"].attrs == frame.attrs
    assert object_keys(endpoint, prefix) == ["processed/market_features.parquet"]
    # The same bytes a local write makes.
    write_parquet(frame, tmp_path / "local.parquet")
    key = f"{prefix}/processed/market_features.parquet"
    assert object_bytes(endpoint, key) == (tmp_path / "local.parquet").read_bytes()
    metadata = result.asset_materializations_for_node("market_features")[0].metadata
    assert metadata["path"].value == f"s3://{BUCKET}/{key}"
    assert metadata["bytes"].value == (tmp_path / "local.parquet").stat().st_size


def test_partitions_round_trip_through_the_bucket(endpoint, prefix, resources):
    received = {}

    @dg.asset(partitions_def=MONTHS, backfill_policy=dg.BackfillPolicy.single_run())
    def option_quotes(context: dg.AssetExecutionContext) -> LazyTables:
        return LazyTables({m: (lambda m=m: quotes(m)) for m in context.partition_keys})

    @dg.asset(partitions_def=MONTHS, backfill_policy=dg.BackfillPolicy.single_run())
    def monthly(option_quotes: LazyTables) -> None:
        received["monthly"] = dict(option_quotes.items())

    @dg.asset
    def every_month(option_quotes: pd.DataFrame) -> None:
        received["all"] = option_quotes

    result = dg.materialize(
        [option_quotes, monthly, every_month],
        resources=resources,
        tags={
            "dagster/asset_partition_range_start": "2020-01",
            "dagster/asset_partition_range_end": "2020-02",
        },
        selection=[option_quotes, monthly],
    )
    assert result.success
    assert object_keys(endpoint, prefix) == [
        "processed/option_quotes/2020-01.parquet",
        "processed/option_quotes/2020-02.parquet",
    ]
    for month in ["2020-01", "2020-02"]:
        pd.testing.assert_frame_equal(received["monthly"][month], quotes(month))
    metadata = result.asset_materializations_for_node("option_quotes")[0].metadata
    assert metadata["path"].value == f"s3://{BUCKET}/{prefix}/processed/option_quotes"

    # An unpartitioned reader gets both months; 2020-03 has no object and is skipped.
    assert dg.materialize(
        [every_month, option_quotes.to_source_asset()], resources=resources
    ).success
    expected = pd.concat([quotes("2020-01"), quotes("2020-02")], ignore_index=True)
    pd.testing.assert_frame_equal(received["all"], expected)
    assert received["all"].attrs["optvol"]["sources"] == [
        {"label": "spy_2020-01.txt"},
        {"label": "spy_2020-02.txt"},
    ]


def test_a_model_round_trips_through_the_bucket(endpoint, prefix, resources):
    model = small_gru()
    received = {}

    @dg.asset(io_manager_key="model_io_manager")
    def gru_model() -> TrainedGRU:
        return model

    @dg.asset
    def consumer(gru_model: TrainedGRU) -> None:
        received["model"] = gru_model

    result = dg.materialize([gru_model, consumer], resources=resources)
    assert result.success
    assert object_keys(endpoint, prefix) == ["models/gru_model.json", "models/gru_model.pt"]
    loaded = received["model"]
    assert loaded.card == model.card  # the card, with the file's sha256 the save recorded
    assert loaded.state_dict.keys() == model.state_dict.keys()
    for name, tensor in model.state_dict.items():
        assert torch.equal(loaded.state_dict[name], tensor)
    metadata = result.asset_materializations_for_node("gru_model")[0].metadata
    assert metadata["pt_path"].value == f"s3://{BUCKET}/{prefix}/models/gru_model.pt"
    card = json.loads(object_bytes(endpoint, f"{prefix}/models/gru_model.json"))
    assert metadata["pt_bytes"].value == card["file"]["bytes"]


def test_a_model_object_that_does_not_match_its_card_is_refused(endpoint, prefix, resources):
    @dg.asset(io_manager_key="model_io_manager")
    def gru_model() -> TrainedGRU:
        return small_gru()

    @dg.asset
    def consumer(gru_model: TrainedGRU) -> None: ...

    assert dg.materialize([gru_model], resources=resources).success
    s3_client(endpoint).put_object(
        Bucket=BUCKET, Key=f"{prefix}/models/gru_model.pt", Body=b"swapped weights"
    )
    result = dg.materialize(
        [consumer, gru_model.to_source_asset()], resources=resources, raise_on_error=False
    )
    assert not result.success
    message = failure_message(result)
    assert OptvolInputError.__name__ in message
    assert f"s3://{BUCKET}/{prefix}/models/gru_model" in message
    assert "does not match the sha256" in message


def test_a_json_document_round_trips_through_the_bucket(endpoint, prefix, resources):
    document = {"rmse": 0.25, "models": ["gru", "bs"], "n": 3}
    received = {}

    @dg.asset(io_manager_key="json_io_manager")
    def option_evaluation() -> dict:
        return document

    @dg.asset
    def consumer(option_evaluation: dict) -> None:
        received["document"] = option_evaluation

    assert dg.materialize([option_evaluation, consumer], resources=resources).success
    assert received["document"] == document
    assert object_keys(endpoint, prefix) == ["metrics/evaluation.json"]
    stored = json.loads(object_bytes(endpoint, f"{prefix}/metrics/evaluation.json"))
    assert stored == document


@pytest.mark.parametrize(
    ("name", "manager_key", "annotation", "expected"),
    [
        ("market_features", "io_manager", pd.DataFrame, "processed/market_features.parquet"),
        ("gru_model", "model_io_manager", TrainedGRU, "models/gru_model.*"),
        ("option_evaluation", "json_io_manager", dict, "metrics/evaluation.json"),
    ],
)
def test_a_missing_object_says_what_to_materialize(
    prefix, resources, name, manager_key, annotation, expected
):
    upstream = dg.SourceAsset(key=name, io_manager_key=manager_key)

    @dg.asset(ins={"value": dg.AssetIn(key=name, dagster_type=annotation)})
    def consumer(value) -> None: ...

    result = dg.materialize([consumer, upstream], resources=resources, raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert "FileNotFoundError" in message
    assert f"s3://{BUCKET}/{prefix}/{expected} does not exist" in message
    assert f"materialize asset '{name}' first" in message


def test_a_partitioned_table_without_any_object_says_what_to_materialize(prefix, resources):
    @dg.asset(partitions_def=MONTHS)
    def option_quotes() -> pd.DataFrame: ...

    @dg.asset
    def consumer(option_quotes: pd.DataFrame) -> None: ...

    result = dg.materialize(
        [consumer, option_quotes.to_source_asset()], resources=resources, raise_on_error=False
    )
    assert not result.success
    message = failure_message(result)
    assert f"s3://{BUCKET}/{prefix}/processed/option_quotes holds none of the 3" in message
    assert "materialize asset 'option_quotes' first" in message


def test_a_failed_write_leaves_the_previous_object(endpoint, prefix, resources):
    @dg.asset(name="market_features")
    def good() -> pd.DataFrame:
        return quotes()

    @dg.asset(name="market_features")
    def unconvertible() -> pd.DataFrame:
        return pd.DataFrame({"x": [object(), 1]})

    assert dg.materialize([good], resources=resources).success
    key = f"{prefix}/processed/market_features.parquet"
    before = object_bytes(endpoint, key)
    result = dg.materialize([unconvertible], resources=resources, raise_on_error=False)
    assert not result.success
    assert object_bytes(endpoint, key) == before
    assert object_keys(endpoint, prefix) == ["processed/market_features.parquet"]


def set_moto_authentication(endpoint: str, enforced: bool) -> None:
    """Make the moto server check credentials (it accepts any by default)."""
    body = b"0" if enforced else b"inf"
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=body,
        headers={"Content-Type": "text/plain"},  # a form body would be parsed away
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_bad_credentials_give_a_clear_error(endpoint, resources):
    @dg.asset
    def market_features() -> pd.DataFrame:
        return quotes()

    set_moto_authentication(endpoint, enforced=True)
    try:
        result = dg.materialize([market_features], resources=resources, raise_on_error=False)
    finally:
        set_moto_authentication(endpoint, enforced=False)
    assert not result.success
    message = failure_message(result)
    assert "PermissionError" in message
    assert f"s3://{BUCKET}/" in message and "access refused" in message
    assert "check the credentials" in message


def test_an_unreachable_endpoint_gives_a_clear_error(tmp_path):
    # A port nothing listens on: bind a socket, note its port, close it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = {
        "endpoint_url": f"http://127.0.0.1:{port}",
        **CREDENTIALS,
        "config_kwargs": {"connect_timeout": 1, "retries": {"max_attempts": 1}},
    }
    manager = ParquetIOManager(root=f"s3://{BUCKET}/nowhere", storage_options=options)

    @dg.asset
    def option_quotes() -> pd.DataFrame:
        return quotes()

    result = dg.materialize(
        [option_quotes], resources={"io_manager": manager}, raise_on_error=False
    )
    assert not result.success
    message = failure_message(result)
    assert "ConnectionError" in message and "cannot reach the storage" in message
    assert f"127.0.0.1:{port}" in message


def test_the_root_and_endpoint_can_come_from_the_environment(endpoint, prefix, monkeypatch):
    monkeypatch.setenv("OPTVOL_ARTIFACT_ROOT", f"s3://{BUCKET}/{prefix}")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["secret"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # s3fs reuses a filesystem made with the same options, whose client read the old env.
    S3FileSystem.clear_instance_cache()
    received = {}

    @dg.asset
    def market_features() -> pd.DataFrame:
        return quotes()

    @dg.asset
    def consumer(market_features: pd.DataFrame) -> None:
        received["frame"] = market_features

    assert dg.materialize(
        [market_features, consumer], resources={"io_manager": ParquetIOManager()}
    ).success
    pd.testing.assert_frame_equal(received["frame"], quotes())
    assert object_keys(endpoint, prefix) == ["processed/market_features.parquet"]


def test_a_file_url_root_is_a_local_directory_written_as_before(tmp_path):
    @dg.asset
    def market_features() -> pd.DataFrame:
        return quotes()

    manager = ParquetIOManager(root=(tmp_path / "art").as_uri())
    assert dg.materialize([market_features], resources={"io_manager": manager}).success
    path = tmp_path / "art" / "processed" / "market_features.parquet"
    write_parquet(quotes(), tmp_path / "local.parquet")
    assert path.read_bytes() == (tmp_path / "local.parquet").read_bytes()
    pd.testing.assert_frame_equal(read_frame(path), quotes())


def test_a_memory_url_root_round_trips_every_kind(prefix):
    root = f"memory://optvol/{prefix}"
    resources = {
        "io_manager": ParquetIOManager(root=root),
        "model_io_manager": ModelIOManager(root=root),
        "json_io_manager": JsonIOManager(root=root),
    }
    received = {}

    @dg.asset
    def option_quotes() -> pd.DataFrame:
        return quotes()

    @dg.asset(io_manager_key="model_io_manager")
    def gru_model() -> TrainedGRU:
        return small_gru()

    @dg.asset(io_manager_key="json_io_manager")
    def option_evaluation() -> dict:
        return {"rmse": 1.0}

    @dg.asset
    def consumer(
        option_quotes: pd.DataFrame, gru_model: TrainedGRU, option_evaluation: dict
    ) -> None:
        received.update(frame=option_quotes, model=gru_model, document=option_evaluation)

    assert dg.materialize(
        [option_quotes, gru_model, option_evaluation, consumer], resources=resources
    ).success
    pd.testing.assert_frame_equal(received["frame"], quotes())
    assert received["model"].card.target == "tiny"
    assert received["document"] == {"rmse": 1.0}


def test_the_root_is_the_setting_else_the_environment_else_the_data_root(tmp_path, monkeypatch):
    monkeypatch.delenv("OPTVOL_ARTIFACT_ROOT", raising=False)
    monkeypatch.setenv("OPTVOL_DATA_DIR", str(tmp_path / "data"))
    assert artifact_root() == tmp_path / "data"
    monkeypatch.setenv("OPTVOL_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    assert artifact_root() == tmp_path / "artifacts"
    assert artifact_root(str(tmp_path / "given")) == tmp_path / "given"
    assert artifact_root((tmp_path / "url").as_uri()) == tmp_path / "url"
    remote = artifact_root("s3://bucket/prefix")
    assert is_remote(remote) and str(remote) == "s3://bucket/prefix"
    assert not is_remote(artifact_root())


def test_s3_roots_get_a_short_connect_timeout_unless_one_is_given():
    default = artifact_root("s3://bucket/p", {"endpoint_url": "http://127.0.0.1:1"})
    assert default.storage_options["config_kwargs"] == {"connect_timeout": 10}
    assert default.storage_options["endpoint_url"] == "http://127.0.0.1:1"
    given = artifact_root("s3://bucket/p", {"config_kwargs": {"connect_timeout": 2}})
    assert given.storage_options["config_kwargs"] == {"connect_timeout": 2}

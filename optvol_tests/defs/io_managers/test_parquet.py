"""The Parquet IO manager and atomic writes, on real files."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from optvol.core.common.parquet import write_parquet
from optvol.defs.io_managers.parquet import ParquetIOManager


def test_round_trip_keeps_pandas_dtypes(tmp_path):
    frame = pd.DataFrame(
        {
            "d": pd.to_datetime(["2020-01-02", "2020-01-03"]),
            "c": pd.Categorical(["C", "P"]),
            "n": pd.array([1, None], dtype="Int32"),
            "f": pd.Series([0.5, None], dtype="float32"),
        }
    )

    @dg.asset
    def market_features() -> pd.DataFrame:
        return frame

    @dg.asset
    def downstream(market_features: pd.DataFrame) -> None:
        pd.testing.assert_frame_equal(market_features, frame)

    manager = ParquetIOManager(root=str(tmp_path))
    result = dg.materialize([market_features, downstream], resources={"io_manager": manager})
    assert result.success
    assert (tmp_path / "processed" / "market_features.parquet").exists()


def test_arrow_tables_load_as_arrow_when_annotated(tmp_path):
    table = pa.table({"x": [1, 2, 3]})

    @dg.asset
    def raw_market() -> pa.Table:
        return table

    @dg.asset
    def consumer(raw_market: pa.Table) -> None:
        assert isinstance(raw_market, pa.Table) and raw_market.equals(table)

    manager = ParquetIOManager(root=str(tmp_path))
    assert dg.materialize([raw_market, consumer], resources={"io_manager": manager}).success
    assert (tmp_path / "staging" / "raw_market.parquet").exists()


def test_unknown_assets_get_a_path_under_assets(tmp_path):
    manager = ParquetIOManager(root=str(tmp_path))
    assert (
        manager.path_for(dg.AssetKey(["group", "thing"])) == tmp_path / "assets/group/thing.parquet"
    )


def test_loading_a_missing_artifact_says_what_to_materialize(tmp_path):
    @dg.asset
    def option_quotes() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    @dg.asset
    def downstream(option_quotes: pd.DataFrame) -> None: ...

    manager = ParquetIOManager(root=str(tmp_path))
    result = dg.materialize(
        [downstream, option_quotes.to_source_asset()],
        resources={"io_manager": manager},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "materialize asset 'option_quotes' first" in str(failure.event_specific_data.error)


def test_failed_write_keeps_the_previous_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "t.parquet"
    write_parquet(pd.DataFrame({"x": [1, 2]}), path)
    before = path.read_bytes()
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        write_parquet(pd.DataFrame({"x": [object(), 1]}), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_unsupported_object_is_refused(tmp_path):
    with pytest.raises(TypeError, match="pandas DataFrame or an Arrow table"):
        write_parquet([1, 2, 3], tmp_path / "x.parquet")

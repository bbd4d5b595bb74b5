"""LazyTables, merged notes and reading partition files back as one table (no Dagster)."""

import pandas as pd
import pyarrow as pa
import pytest

from optvol.core.common.parquet import (
    merge_notes,
    notes_of,
    read_frame,
    read_partition_tables,
    read_partitions,
    with_notes,
    write_parquet,
)
from optvol.core.common.partitioned import LazyTables


def test_lazy_tables_produce_a_value_only_when_it_is_looked_up():
    calls: list[str] = []
    tables = LazyTables({k: (lambda k=k: calls.append(k) or k.upper()) for k in ["b", "a", "c"]})
    assert len(tables) == 3
    assert "a" in tables and "z" not in tables
    assert list(tables) == ["b", "a", "c"] and list(tables.keys()) == ["b", "a", "c"]
    assert calls == []
    assert tables["a"] == "A"
    assert calls == ["a"]
    assert dict(tables.items()) == {"b": "B", "a": "A", "c": "C"}
    assert calls == ["a", "b", "a", "c"]  # nothing cached: a value is made per lookup
    with pytest.raises(KeyError):
        tables["z"]


def test_lazy_tables_refuse_values_that_are_not_callables():
    with pytest.raises(TypeError, match="'2020-01' maps to DataFrame"):
        LazyTables({"2020-01": pd.DataFrame()})


def test_merge_notes_concatenates_lists_once_sums_counts_and_merges_nested_documents():
    january = {
        "sources": [{"label": "spy.txt", "rows": 10}],
        "cleaning": {"rows_in": 10, "flags": {"crossed": 1}, "exact": True},
    }
    february = {
        "sources": [{"rows": 10, "label": "spy.txt"}, {"label": "feb.txt"}],
        "cleaning": {"rows_in": 5, "flags": {"crossed": 2, "expired": 3}, "exact": True},
        "extra": "only here",
    }
    assert merge_notes([january, february]) == {
        "sources": [{"label": "spy.txt", "rows": 10}, {"label": "feb.txt"}],
        "cleaning": {"rows_in": 15, "flags": {"crossed": 3, "expired": 3}, "exact": True},
        "extra": "only here",
    }


def test_merge_notes_keeps_every_differing_value_rather_than_one():
    merged = merge_notes([{"format": "optionsdx", "ok": True}, {"format": "long", "ok": False}])
    assert merged == {"format": ["optionsdx", "long"], "ok": [True, False]}
    assert merge_notes([{"x": 1}, {"x": "one"}]) == {"x": [1, "one"]}
    assert merge_notes([]) == {} and merge_notes([{}, {}]) == {}


def frame(month: str, **columns) -> pd.DataFrame:
    data = {"month": [month, month], "n": pd.array([1, None], dtype="Int32")}
    return with_notes(pd.DataFrame({**data, **columns}), {"sources": [month]})


def test_read_partitions_unites_categories_and_keeps_key_order(tmp_path):
    paths = []
    for month, labels in [("2020-02", ["b", "c"]), ("2020-01", ["a", "a"])]:
        path = tmp_path / f"{month}.parquet"
        write_parquet(frame(month, label=pd.Categorical(labels)), path)
        paths.append(path)
    result = read_partitions(paths)
    assert result["month"].tolist() == ["2020-02"] * 2 + ["2020-01"] * 2
    assert result["label"].dtype == "category"
    assert sorted(result["label"].cat.categories) == ["a", "b", "c"]
    assert result["label"].tolist() == ["b", "c", "a", "a"]
    assert str(result["n"].dtype) == "Int32"
    assert notes_of(result) == {"sources": ["2020-02", "2020-01"]}
    assert read_partition_tables(paths).num_rows == 4


def test_a_column_of_nulls_in_one_partition_takes_the_type_of_the_others(tmp_path):
    write_parquet(pd.DataFrame({"x": [None, None]}), tmp_path / "a.parquet")
    write_parquet(pd.DataFrame({"x": ["u", None]}), tmp_path / "b.parquet")
    table = read_partition_tables([tmp_path / "a.parquet", tmp_path / "b.parquet"])
    assert table.schema.field("x").type == pa.string()
    assert table.column("x").to_pylist() == [None, None, "u", None]


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        (pd.DataFrame({"month": ["x"]}), r"columns missing \['n'\]"),
        (pd.DataFrame({"n": [1], "month": ["x"]}), "in the order"),
        (pd.DataFrame({"month": [1.5], "n": [1]}), "column 'month' is double, not string"),
    ],
)
def test_partitions_with_other_columns_are_refused_naming_the_file(tmp_path, second, expected):
    write_parquet(frame("2020-01"), tmp_path / "2020-01.parquet")
    write_parquet(second, tmp_path / "2020-02.parquet")
    with pytest.raises(ValueError, match=expected) as error:
        read_partitions([tmp_path / "2020-01.parquet", tmp_path / "2020-02.parquet"])
    assert "2020-02.parquet cannot follow" in str(error.value)


def test_reading_no_partition_is_an_error():
    with pytest.raises(ValueError, match="no tables"):
        read_partitions([])


def test_a_truncated_partition_file_fails_the_read(tmp_path):
    path = tmp_path / "2020-01.parquet"
    write_parquet(frame("2020-01"), path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(pa.ArrowInvalid):
        read_partitions([path])


def test_frames_read_back_can_be_edited_in_place(tmp_path):
    paths = [tmp_path / "2020-01.parquet", tmp_path / "2020-02.parquet"]
    for path in paths:
        write_parquet(pd.DataFrame({"x": [1.0, 2.0], "n": [1, 2]}), path)
    for frame in (read_partitions(paths), read_partitions(paths[:1]), read_frame(paths[0])):
        frame.loc[0, "x"] = 9.0
        frame["n"] += 1
        assert frame.loc[0, "x"] == 9.0 and frame["n"].iloc[1] == 3


def test_merge_notes_gives_one_entry_per_input_with_its_row_counts_summed():
    def source(label: str, rows: int) -> dict:
        return {"label": label, "format": "optionsdx", "input_rows": rows,
                "quote_rows": 2 * rows, "compressed_bytes": 5000, "origin": "simulated"}  # fmt: skip

    months = [
        {"sources": [source("all.txt", 10)]},
        {"sources": [source("all.txt", 7), source("extra.txt", 3)]},
    ]
    assert merge_notes(months)["sources"] == [
        {"label": "all.txt", "format": "optionsdx", "input_rows": 17, "quote_rows": 34,
         "compressed_bytes": 5000, "origin": "simulated"},
        {"label": "extra.txt", "format": "optionsdx", "input_rows": 3, "quote_rows": 6,
         "compressed_bytes": 5000, "origin": "simulated"},
    ]  # fmt: skip

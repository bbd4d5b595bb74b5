"""Bad option input files: each gets a clear error naming the file and, where it applies,
the line and column."""

from __future__ import annotations

import gzip

import pytest

from optvol.core.common.errors import InputNotFoundError, OptvolInputError
from optvol.core.common.input_files import find_input_files
from optvol.core.options.ingest.optionsdx import OPTIONSDX_HEADER
from optvol.core.options.ingest.read import read_option_files
from optvol_tests.builders import optionsdx_row, small_chain, write_optionsdx


def test_missing_directory_names_the_expected_path(tmp_path):
    missing = tmp_path / "raw" / "options"
    with pytest.raises(InputNotFoundError, match=str(missing)):
        find_input_files(missing)


def test_directory_without_supported_files(tmp_path):
    (tmp_path / "notes.md").write_text("x")
    (tmp_path / ".hidden.csv").write_text("x")
    with pytest.raises(InputNotFoundError, match="no input files in"):
        find_input_files(tmp_path)


def test_missing_file_names_its_path(tmp_path):
    with pytest.raises(InputNotFoundError, match="nope.csv"):
        read_option_files([tmp_path / "nope.csv"])


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(OptvolInputError, match=r"empty.csv: the file is empty"):
        read_option_files([path])


def test_header_only_file(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(OPTIONSDX_HEADER + "\n")
    with pytest.raises(
        OptvolInputError, match="header.csv: the file has a header but no data rows"
    ):
        read_option_files([path])


def test_truncated_last_row_names_the_line(tmp_path):
    path = write_optionsdx(tmp_path / "cut.csv", small_chain())
    text = path.read_text()
    path.write_text(text[: len(text) - 150])  # cut mid-row, as an interrupted download
    lines = path.read_text().count("\n") + 1
    with pytest.raises(
        OptvolInputError,
        match=rf"cut.csv: line {lines} has \d+ fields, expected 33 separated by ', '",
    ):
        read_option_files([path])


def test_wrong_delimiter_says_so(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text(OPTIONSDX_HEADER.replace(", ", ";") + "\n" + "1;2;3\n")
    with pytest.raises(OptvolInputError, match="semicolon-delimited"):
        read_option_files([path])


def test_unknown_header_explains_what_was_expected(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(OptvolInputError, match="Expected the optionsDX header.*long_format"):
        read_option_files([path])


def test_garbage_number_names_line_and_column(tmp_path):
    rows = small_chain()
    rows[3]["C_BID"] = "abc"
    path = write_optionsdx(tmp_path / "bad.csv", rows)
    with pytest.raises(
        OptvolInputError, match=r"bad.csv: line 5, column C_BID: invalid value 'abc'"
    ):
        read_option_files([path])


def test_a_conversion_error_names_the_file_line_only(tmp_path):
    rows = [optionsdx_row() for _ in range(400)]
    rows[299]["UNDERLYING_LAST"] = "abc"
    path = write_optionsdx(tmp_path / "bad.csv", rows)
    with pytest.raises(OptvolInputError) as err:
        read_option_files([path])
    assert str(err.value) == (
        "bad.csv: line 301, column UNDERLYING_LAST: invalid value 'abc' (expected double)"
    )  # not pyarrow's "Row #300", counted in its own block


def test_a_line_too_long_for_a_row_is_named(tmp_path):
    path = write_optionsdx(tmp_path / "long.csv", small_chain())
    lines = path.read_text().split("\n")
    lines[6] += "9" * 5_000_000  # no row is megabytes long: lost line breaks
    path.write_text("\n".join(lines))
    with pytest.raises(OptvolInputError) as err:
        read_option_files([path])
    assert str(err.value) == (
        "long.csv: line 7 is over 1 MiB long, longer than any row of a table can be "
        "(missing line breaks, or not a text table?)"
    )


def test_a_huge_header_is_quoted_short(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("[QUOTE_UNIXTIME], [QUOTE_READTIME" + "x" * 10_000_000 + "]\n1, 2\n")
    with pytest.raises(OptvolInputError) as err:
        read_option_files([path])
    assert str(err.value) == (
        "wide.csv: line 1 is over 64 KiB long, longer than any header can be (missing line "
        "breaks, or not a text table?)"
    )
    path.write_text("[QUOTE_UNIXTIME], [QUOTE_READTIME" + "x" * 30_000 + "]\n1, 2\n")
    with pytest.raises(OptvolInputError, match=r"unexpected \['QUOTE_READTIMEXXX+\.\.\. "
                       r"\(30,01\d characters\)'\]") as err:  # fmt: skip
        read_option_files([path])
    assert len(str(err.value)) < 1000


def test_garbage_date_names_line_and_column(tmp_path):
    rows = [optionsdx_row(), optionsdx_row(EXPIRE_DATE="2020-13-45")]
    path = write_optionsdx(tmp_path / "bad.csv", rows)
    with pytest.raises(OptvolInputError, match=r"line 3, column EXPIRE_DATE"):
        read_option_files([path])


def test_read_time_in_another_format_names_line_and_column(tmp_path):
    rows = [optionsdx_row(), optionsdx_row(QUOTE_READTIME="2020-01-02T16:00")]
    path = write_optionsdx(tmp_path / "bad.csv", rows)
    with pytest.raises(
        OptvolInputError, match=r"line 3, column QUOTE_READTIME: invalid value ' 2020-01-02T16:00'"
    ):
        read_option_files([path])


def test_malformed_size(tmp_path):
    rows = [optionsdx_row(), optionsdx_row(P_SIZE="12 by 4")]
    path = write_optionsdx(tmp_path / "bad.csv", rows)
    with pytest.raises(OptvolInputError, match=r"line 3, column P_SIZE: invalid value '12 by 4'"):
        read_option_files([path])


@pytest.mark.parametrize(
    ("size", "shown"),
    [("1 x 99999999999999", "'1 x 99999999999999'"), ("7" * 1_500_000, "'" + "7" * 60 + "...")],
)
def test_a_size_too_large_names_file_line_and_column_briefly(tmp_path, size, shown):
    rows = [optionsdx_row(), optionsdx_row(C_SIZE=size)]
    path = write_optionsdx(tmp_path / "sizes.csv", rows)
    with pytest.raises(OptvolInputError) as error:
        read_option_files([path])
    message = str(error.value)
    assert message.startswith(f"sizes.csv: line 3, column C_SIZE: invalid value {shown}")
    assert "above 2,147,483,647 contracts" in message and len(message) < 300


def test_truncated_gzip(tmp_path):
    source = write_optionsdx(tmp_path / "a.csv", small_chain() * 20)
    path = tmp_path / "cut.csv.gz"
    data = gzip.compress(source.read_bytes())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(OptvolInputError, match="cut.csv.gz"):
        read_option_files([path])


def test_not_a_zip(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_text("hello")
    with pytest.raises(OptvolInputError, match="fake.zip: not a readable zip archive"):
        read_option_files([path])


def test_binary_garbage(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(OptvolInputError, match="garbage.csv"):
        read_option_files([path])


# Arrow cannot decode the row for its invalid-row handler and reports that as unraisable.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_line_that_is_not_utf8_is_named(tmp_path):
    path = write_optionsdx(tmp_path / "latin1.txt", small_chain())
    path.write_bytes(path.read_bytes() + "caf\xe9\n".encode("latin-1"))
    lines = path.read_bytes().count(b"\n")
    with pytest.raises(
        OptvolInputError, match=rf"latin1.txt: line {lines} has 1 fields, expected 33"
    ):
        read_option_files([path])

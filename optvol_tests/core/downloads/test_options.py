"""``optvol download options`` against a local HTTP server serving Cboe's delayed-quotes
JSON layout."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from optvol.cli import main
from optvol.core.downloads.http import DownloadError
from optvol.core.downloads.options import download_options, parse_occ
from optvol.core.options.ingest.read import read_option_months
from optvol_tests.sources import Answer, cboe_json, local_sources


@pytest.fixture
def cboe(monkeypatch):
    with local_sources() as served:
        monkeypatch.setenv("OPTVOL_URL_CBOE_OPTIONS", f"{served.url}/options/{{symbol}}.json")
        yield served


def test_a_snapshot_after_the_close_becomes_the_days_chain(cboe, tmp_path, capsys):
    cboe.serve("/options/SPY.json", Answer(cboe_json(), content_type="application/json"))
    assert main(["download", "options", "SPY", "--data-dir", str(tmp_path)]) == 0
    path = tmp_path / "raw" / "options" / "cboe_spy_2024-01-19.csv"
    assert f"wrote {path}: 16 option quotes of SPY on 2024-01-19" in capsys.readouterr().out
    # The chain reader recognises the layout with no mapping, and reads every quote.
    tables, (report,) = read_option_months([path])
    assert list(tables) == ["2024-01"] and tables["2024-01"].num_rows == 16
    quotes = pd.read_csv(path)
    assert len(quotes) == 16 and set(quotes["type"]) == {"call", "put"}
    assert quotes["quotedate"].unique().tolist() == ["2024-01-19"]
    assert quotes["underlying_last"].unique().tolist() == [482.43]
    first = quotes.iloc[0]
    assert (first["optionroot"], first["expiration"], first["strike"]) == ("SPY", "2024-02-16", 470)


def test_a_second_snapshot_of_the_day_replaces_the_file(cboe, tmp_path):
    cboe.serve("/options/SPY.json", Answer(cboe_json(spot=480.0)))
    (first,) = download_options(tmp_path, ["SPY"])
    cboe.serve("/options/SPY.json", Answer(cboe_json(spot=481.0, timestamp="2024-01-19 17:02:00")))
    (second,) = download_options(tmp_path, ["SPY"])
    assert first.path == second.path
    assert pd.read_csv(second.path)["underlying_last"].unique().tolist() == [481.0]
    assert [p.name for p in (tmp_path / "raw" / "options").iterdir()] == [second.path.name]


def test_an_index_is_asked_for_with_an_underscore_and_closes_at_16_15(cboe, tmp_path):
    body = cboe_json(root="SPXW", spot=4839.81, strikes=(4800.0, 4850.0))
    cboe.serve("/options/_SPX.json", Answer(body))
    (done,) = download_options(tmp_path, ["SPX"])
    assert done.rows == 8 and done.path.name == "cboe_spx_2024-01-19.csv"
    early = cboe_json(root="SPXW", timestamp="2024-01-19 16:10:00")
    cboe.serve("/options/_SPX.json", Answer(early))
    with pytest.raises(DownloadError, match="taken at 16:10 New York time, before the 16:15"):
        download_options(tmp_path, ["SPX"])


def test_a_snapshot_before_the_close_is_refused_unless_intraday(cboe, tmp_path):
    cboe.serve("/options/SPY.json", Answer(cboe_json(timestamp="2024-01-19 11:31:00")))
    with pytest.raises(DownloadError, match="before the 16:00 close"):
        download_options(tmp_path, ["SPY"])
    assert not (tmp_path / "raw").exists()
    (done,) = download_options(tmp_path, ["SPY"], intraday=True)
    assert done.rows == 16


@pytest.mark.parametrize(
    ("timestamp", "what"), [("2024-01-20 16:30:00", "weekend"), ("2024-07-04 16:30:00", "holiday")]
)
def test_a_weekend_or_holiday_writes_nothing_and_says_so(cboe, tmp_path, capsys, timestamp, what):
    cboe.serve("/options/SPY.json", Answer(cboe_json(timestamp=timestamp)))
    assert main(["download", "options", "SPY", "--data-dir", str(tmp_path)]) == 0
    assert "is not a trading day; nothing written" in capsys.readouterr().out
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (json.dumps({"timestamp": "2024-01-19 16:20:00", "data": {}}).encode(), "no data.options"),
        (
            json.dumps({"timestamp": "2024-01-19 16:20:00", "data": None}).encode(),
            "no data.options",
        ),
        (b"<html>maintenance</html>", "is not JSON"),
        (
            cboe_json().replace(b"SPY240216C00470000", b"SPY24021C470"),
            "options[0]: 'SPY24021C470' is not an OCC",
        ),
        (cboe_json(timestamp="19/01/2024 16:20"), "is not YYYY-MM-DD HH:MM:SS"),
    ],
    ids=["no options", "null data", "html", "bad OCC symbol", "bad timestamp"],
)
def test_a_malformed_document_is_refused_naming_the_url(cboe, tmp_path, body, message):
    cboe.serve("/options/SPY.json", Answer(body))
    with pytest.raises(DownloadError) as error:
        download_options(tmp_path, ["SPY"])
    assert f"GET {cboe.url}/options/SPY.json" in str(error.value) and message in str(error.value)
    assert not (tmp_path / "raw").exists()


def test_occ_symbols_in_both_forms():
    assert parse_occ("SPY240119C00470000") == (
        "SPY",
        pd.Timestamp("2024-01-19").date(),
        "call",
        470.0,
    )
    assert parse_occ("SPXW  240119P04712500")[2:] == ("put", 4712.5)
    with pytest.raises(ValueError, match="not an OCC option symbol"):
        parse_occ("SPY 2024-01-19 470 C")


def test_one_symbol_that_fails_does_not_cost_the_others_their_day(cboe, tmp_path):
    cboe.serve("/options/SPY.json", Answer(cboe_json()))
    with pytest.raises(
        DownloadError, match=r"SPYY: GET .*/options/SPYY.json: HTTP 404.*saved: SPY"
    ):
        download_options(tmp_path, ["SPYY", "SPY"])
    assert [p.name for p in (tmp_path / "raw" / "options").iterdir()] == ["cboe_spy_2024-01-19.csv"]

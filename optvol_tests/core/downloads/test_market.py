"""``optvol download market`` against a local HTTP server serving each source's layout:
stooq's S&P 500 CSV, Cboe's VIX_History.csv and FRED's fredgraph CSV."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from optvol.cli import main
from optvol.core.common.errors import OptvolInputError
from optvol.core.downloads.http import DownloadError, fetch, redacted
from optvol.core.downloads.market import download_market
from optvol_tests.sources import DAYS, Answer, fred_csv, spx_csv, vix_csv


@pytest.fixture
def sources(served, monkeypatch):
    """The three sources served locally, their URL settings pointing there; the retry
    waits recorded, not slept."""
    monkeypatch.setenv("OPTVOL_URL_SPX", served.serve("/spx.csv", Answer(spx_csv())))
    monkeypatch.setenv("OPTVOL_URL_VIX", served.serve("/vix.csv", Answer(vix_csv())))
    served.serve("/fred/DGS10", Answer(fred_csv("DGS10")))
    monkeypatch.setenv("OPTVOL_URL_FRED", f"{served.url}/fred/{{series}}?api_key=s3cret")
    return served


def download(root, fred=("DGS10",)):
    return download_market(root, fred_series=fred)


def test_a_first_download_writes_the_history_and_its_provenance(sources, tmp_path, capsys):
    assert main(["download", "market", "--data-dir", str(tmp_path), "--fred", "DGS10"]) == 0
    assert "added 30 days to" in capsys.readouterr().out
    assert main(["download", "market", "--data-dir", str(tmp_path), "--fred", "DGS10"]) == 0
    assert "no new day or value in any source; nothing changed" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "raw" / "raw_market.csv")
    assert list(table.columns) == ["date", "spx_open", "spx_high", "spx_low", "spx_close",
                                   "vix_close", "dgs10"]  # fmt: skip
    assert table["date"].iloc[[0, -1]].tolist() == ["2024-01-02", "2024-02-12"]
    assert table["spx_close"].iloc[0] == 4700 and table["vix_close"].iloc[1] == 13.5
    assert table["dgs10"].isna().sum() == 4  # FRED's "." is missing
    provenance = json.loads((tmp_path / "raw" / "raw_market.provenance.json").read_text())
    fred = provenance["sources"]["fred:DGS10"]
    assert fred["url"] == f"{sources.url}/fred/DGS10?api_key=%2A%2A%2A"  # no secret kept
    assert fred["rows_added"] == 26 and fred["last_date"] == "2024-02-12"
    assert fred["bytes"] == len(fred_csv("DGS10")) and len(fred["sha256"]) == 64
    assert provenance["sources"]["spx"]["rows_added"] == 30


def test_a_second_run_adds_nothing_and_changes_no_byte(sources, tmp_path):
    download(tmp_path)
    files = {p: p.read_bytes() for p in (tmp_path / "raw").iterdir()}
    done = download(tmp_path)
    assert done.rows_added == 0
    assert {p: p.read_bytes() for p in (tmp_path / "raw").iterdir()} == files
    # the second run asked conditionally, and each source answered 304 Not Modified
    second = sources.requests[-3:]
    assert all("If-None-Match" in headers for _, headers in second)


def test_new_days_are_appended_and_nothing_stored_changes(sources, tmp_path):
    download(tmp_path)
    before = (tmp_path / "raw" / "raw_market.csv").read_text()
    later = pd.bdate_range("2024-01-02", periods=33)
    sources.serve("/spx.csv", Answer(spx_csv(later)))
    sources.serve("/vix.csv", Answer(vix_csv(later)))
    done = download(tmp_path)
    assert done.rows_added == 3 and done.sources["vix"]["rows_added"] == 3
    after = (tmp_path / "raw" / "raw_market.csv").read_text()
    assert after.startswith(before) and len(after.splitlines()) == 34
    assert done.sources["fred:DGS10"]["rows_added"] == 0  # not modified: 304


def test_a_value_published_after_its_day_was_stored_fills_the_empty_cell(sources, tmp_path):
    sources.serve("/fred/DGS10", Answer(fred_csv("DGS10", DAYS[:-1])))  # a day behind
    download(tmp_path)
    stored = pd.read_csv(tmp_path / "raw" / "raw_market.csv")
    assert np.isnan(stored["dgs10"].iloc[-1])
    sources.serve("/fred/DGS10", Answer(fred_csv("DGS10")))
    done = download(tmp_path)
    assert (done.rows_added, done.cells_filled) == (0, 1)
    after = pd.read_csv(tmp_path / "raw" / "raw_market.csv")
    assert after["dgs10"].iloc[-1] == 4.29
    pd.testing.assert_frame_equal(after.iloc[:-1], stored.iloc[:-1])  # nothing else moved
    assert done.sources["fred:DGS10"]["cells_filled"] == 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(b"gone", 404, "text/plain"), "HTTP 404 Not Found"),
        (Answer(b"<!DOCTYPE html><html>sign in</html>", 200, "text/html"), "HTML page, not CSV"),
        (Answer(b"", 200), "empty body, not CSV"),
        (Answer(b"Date,Open\n2024-01-02,abc\n"), "Close"),
    ],
    ids=["404", "html", "empty", "wrong columns"],
)
def test_a_bad_answer_names_the_url_and_writes_nothing(sources, tmp_path, answer, message):
    download(tmp_path)
    stored = (tmp_path / "raw" / "raw_market.csv").read_bytes()
    sources.serve("/spx.csv", answer)
    sources.serve("/vix.csv", Answer(vix_csv(pd.bdate_range("2024-01-02", periods=31))))
    with pytest.raises(DownloadError) as error:
        download(tmp_path)
    assert f"GET {sources.url}/spx.csv" in str(error.value) and message in str(error.value)
    assert (tmp_path / "raw" / "raw_market.csv").read_bytes() == stored


def test_a_server_error_then_success_is_retried_after_1_then_2_s(sources, tmp_path):
    sources.serve("/spx.csv", Answer(b"busy", 500), Answer(b"busy", 503), Answer(spx_csv()))
    assert download(tmp_path).rows_added == 30
    assert sources.waits == [1, 2] and sources.hits("/spx.csv") == 3


def test_a_body_cut_short_is_retried_then_refused(sources, tmp_path):
    sources.serve("/spx.csv", Answer(spx_csv(), cut_short=True))
    with pytest.raises(DownloadError, match=r"cut short .* \(after 3 retries\)"):
        download(tmp_path)
    assert sources.waits == [1, 2, 4]
    assert not (tmp_path / "raw").exists()


def test_a_source_that_does_not_answer_in_time_is_retried_then_refused(sources, tmp_path):
    url = sources.serve("/slow.csv", Answer(spx_csv(), delay=1.0))
    with pytest.raises(DownloadError, match=r"no answer within 0.2 s \(after 3 retries\)"):
        fetch(url, timeout=0.2, wait=sources.waits.append)
    assert sources.waits == [1, 2, 4]


def test_a_source_ending_before_the_stored_file_is_refused(sources, tmp_path):
    download(tmp_path)
    stored = (tmp_path / "raw" / "raw_market.csv").read_bytes()
    sources.serve("/vix.csv", Answer(vix_csv(pd.bdate_range("2024-01-02", periods=20))))
    with pytest.raises(OptvolInputError, match="ends 2024-01-29, before the stored"):
        download(tmp_path)
    assert (tmp_path / "raw" / "raw_market.csv").read_bytes() == stored


def test_a_source_disagreeing_on_a_stored_day_is_refused_with_both_values(sources, tmp_path):
    download(tmp_path)
    stored = (tmp_path / "raw" / "raw_market.csv").read_bytes()
    sources.serve("/spx.csv", Answer(spx_csv(pd.bdate_range("2024-01-02", periods=31), 0.5)))
    with pytest.raises(OptvolInputError) as error:
        download(tmp_path)
    assert "spx disagrees with the stored raw/raw_market.csv on 2024-01-02" in str(error.value)
    assert "spx_open 4695.0 stored, 4695.5 downloaded" in str(error.value)
    assert (tmp_path / "raw" / "raw_market.csv").read_bytes() == stored


def test_a_repeated_day_is_read_once_and_a_conflicting_one_refused(sources, tmp_path):
    body = spx_csv()
    lines = body.decode().splitlines()
    sources.serve("/spx.csv", Answer(("\n".join([*lines, lines[-1]]) + "\n").encode()))
    assert download(tmp_path).rows_added == 30
    conflicting = lines[-1].replace(lines[-1].split(",")[4], "1.00")
    sources.serve("/spx.csv", Answer(("\n".join([*lines, conflicting]) + "\n").encode()))
    with pytest.raises(OptvolInputError, match="2024-02-12"):
        download(tmp_path / "other")


def test_redacted_hides_credentials_only():
    assert redacted("https://x.org/a.csv?id=DGS10&api_key=abc&token=t") == (
        "https://x.org/a.csv?id=DGS10&api_key=%2A%2A%2A&token=%2A%2A%2A"
    )
    assert redacted("https://x.org/a.csv") == "https://x.org/a.csv"


def test_a_monthly_value_dated_on_a_day_the_file_has_no_row_for_is_added(sources, tmp_path):
    download(tmp_path)
    # UNRATE-like: dated the 1st (here a Saturday) and published weeks later
    monthly = b"observation_date,DGS10\n2024-01-02,4.00\n2024-01-06,4.10\n"
    sources.serve("/fred/DGS10", Answer(fred_csv("DGS10") + monthly.split(b"\n", 1)[1]))
    done = download(tmp_path)
    assert done.rows_added == 1
    table = pd.read_csv(tmp_path / "raw" / "raw_market.csv")
    saturday = table[table["date"] == "2024-01-06"]
    assert saturday["dgs10"].tolist() == [4.1] and saturday["spx_close"].isna().all()
    assert table["date"].is_monotonic_increasing


def test_a_file_written_again_by_hand_is_downloaded_in_full(sources, tmp_path):
    download(tmp_path)
    path = tmp_path / "raw" / "raw_market.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-5]) + "\n")  # import-market --force of a shorter file
    done = download(tmp_path)
    assert done.rows_added == 5  # no If-None-Match from the old record: the days come back
    assert path.read_text().splitlines() == lines


def test_stored_digits_survive_a_rewrite(sources, tmp_path):
    download(tmp_path)
    path = tmp_path / "raw" / "raw_market.csv"
    exact = "3184.8084366072717"  # pandas' default parser reads it one unit off
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table["core_cpi"] = [exact] + [""] * (len(table) - 1)  # a series of the user's own
    table.to_csv(path, index=False)
    sources.serve("/spx.csv", Answer(spx_csv(pd.bdate_range("2024-01-02", periods=31))))
    assert download(tmp_path).rows_added == 1
    assert pd.read_csv(path, dtype=str)["core_cpi"].iloc[0] == exact


def test_credentials_never_show_and_a_url_without_scheme_is_refused(tmp_path):
    assert redacted("https://user:hunter2@mirror.example/spx.csv") == (
        "https://***@mirror.example/spx.csv"
    )
    with pytest.raises(DownloadError, match=r"GET stooq.com/q\?api_key=%2A%2A%2A: not an http"):
        fetch("stooq.com/q?api_key=SECRET")


def test_a_download_waits_for_another_of_the_same_root_and_writes_nothing_meanwhile(
    sources, tmp_path
):
    from optvol.core.common.directory_lock import DirectoryBusy, directory_lock

    with directory_lock(tmp_path, "market download"):  # the evening schedule's, say
        with pytest.raises(DirectoryBusy, match="another market download"):
            download_market(tmp_path, fred_series=("DGS10",), lock_timeout=0.2)
        assert sources.hits("/spx.csv") == 0 and not (tmp_path / "raw").exists()
    assert download(tmp_path).rows_added == 30

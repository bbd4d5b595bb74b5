"""What ``optvol download market`` writes is an input like any other: it materializes with
every check passing, and the download record shows on the raw_market asset."""

from __future__ import annotations

import pandas as pd

from optvol.cli import main
from optvol_tests.defs.volatility.test_history import materialize, outcomes
from optvol_tests.sources import Answer, fred_csv, local_sources, spx_csv, vix_csv


def test_a_downloaded_history_materializes_with_every_check_passing(tmp_path, monkeypatch):
    days = pd.bdate_range("2021-01-04", periods=300)
    with local_sources() as served:
        monkeypatch.setenv("OPTVOL_URL_SPX", served.serve("/spx.csv", Answer(spx_csv(days))))
        monkeypatch.setenv("OPTVOL_URL_VIX", served.serve("/vix.csv", Answer(vix_csv(days))))
        served.serve("/DGS10", Answer(fred_csv("DGS10", days)))
        monkeypatch.setenv("OPTVOL_URL_FRED", f"{served.url}/{{series}}")
        assert main(["download", "market", "--data-dir", str(tmp_path), "--fred", "DGS10"]) == 0
    result = materialize(tmp_path)
    assert result.success
    assert outcomes(result) and all(passed for passed, _ in outcomes(result).values())
    (event,) = result.asset_materializations_for_node("raw_market")
    record = event.metadata["downloaded_from"].value
    assert set(record) == {"spx", "vix", "fred:DGS10"}
    assert record["spx"]["rows_added"] == 300 and record["spx"]["url"].endswith("/spx.csv")

"""What ``optvol download options`` writes is a chain file like any other: ingested and
cleaned with every check passing, with no long-format mapping configured."""

from __future__ import annotations

import dagster as dg

from optvol.cli import main
from optvol.definitions import resources_for
from optvol.defs.options.assets import option_quotes, raw_option_quotes
from optvol.defs.options.partitions import range_tags
from optvol_tests.sources import Answer, cboe_json, local_sources


def test_a_downloaded_snapshot_materializes_with_every_check_passing(tmp_path, monkeypatch):
    with local_sources() as served:
        monkeypatch.setenv("OPTVOL_URL_CBOE_OPTIONS", f"{served.url}/{{symbol}}.json")
        for day in ("2024-01-18", "2024-01-19"):
            served.serve("/SPY.json", Answer(cboe_json(timestamp=f"{day} 16:20:00")))
            assert main(["download", "options", "SPY", "--data-dir", str(tmp_path)]) == 0
    result = dg.materialize(
        [raw_option_quotes, option_quotes],
        resources=resources_for(str(tmp_path)),
        tags=range_tags("2024-01", "2024-01"),
        raise_on_error=False,
    )
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) >= 6 and all(check.passed for check in checks), [
        (c.check_name, c.description) for c in checks if not c.passed
    ]
    (clean,) = result.asset_materializations_for_node("option_quotes")
    assert clean.metadata["dagster/row_count"].value == 32

"""What a change to the Dagster layer must leave as it was, as one JSON document: the
asset specs (keys, dependencies, groups, kinds, partitioning, automation), the check
specs (name, blocking, description), and, after materializing the whole graph on the
embedded demo sample, every check's result and both evaluation files (timings and
throughputs left out: they change from run to run).

Run it before and after a change and compare the two outputs::

    python tools/definitions_snapshot.py --out /tmp/before.json   # on the old commit
    python tools/definitions_snapshot.py --out /tmp/after.json
    diff <(python -m json.tool /tmp/before.json) <(python -m json.tool /tmp/after.json)

``--specs-only`` skips the materialization (seconds instead of minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def specs() -> dict:
    """The asset and check specs of the code location, by key."""
    from optvol.definitions import load_definitions

    graph = load_definitions().resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        condition = node.automation_condition
        assets[key.to_user_string()] = {
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitioned": node.partitions_def is not None,
            "automation": condition.get_label() if condition is not None else None,
        }
    checks = {}
    for key in sorted(graph.asset_check_keys, key=lambda k: k.to_user_string()):
        spec = graph.get_check_spec(key)
        checks[key.to_user_string()] = {
            "blocking": spec.blocking,
            "description": spec.description,
            "partitioned": spec.partitions_def is not None,
        }
    return {"assets": assets, "checks": checks}


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if "second" not in k}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def results(root: Path) -> dict:
    """Every check's result and both evaluations after materializing the whole graph on
    the demo sample under ``root``."""
    import dagster as dg

    from optvol.core.common.paths import ARTIFACT_PATHS, OPTIONS_INPUT_DIR
    from optvol.definitions import load_definitions, resources_for
    from optvol.defs.options.partitions import input_month_range, range_tags
    from optvol.sample import write_sample_data

    write_sample_data(root, size="demo", seed=2020)
    first, last = input_month_range(root / OPTIONS_INPUT_DIR)
    defs = load_definitions()
    result = dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],
        resources=resources_for(str(root)),
        tags=range_tags(first, last),
        raise_on_error=False,
    )
    checks = {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
        for e in result.get_asset_check_evaluations()
    }
    evaluations = {
        name: _without_timings(json.loads((root / ARTIFACT_PATHS[name]).read_text()))
        for name in ("option_evaluation", "volatility_evaluation")
    }
    return {"success": result.success, "check_results": checks, "evaluations": evaluations}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    parser.add_argument("--specs-only", action="store_true", help="skip the materialization")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    snapshot = {"specs": specs()}
    if not args.specs_only:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["OPTVOL_DATA_DIR"] = tmp
            snapshot["materialized"] = results(Path(tmp))
    args.out.write_text(json.dumps(snapshot, indent=1, sort_keys=True, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

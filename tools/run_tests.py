"""The test suite as ``make test`` runs it.

The Dagster UI and daemon test runs in a pytest process of its own, beside the others on
pytest-xdist workers: it spends most of its minute waiting on the runs its sensors
launch, and the other tests fill the cores meanwhile. Its output follows theirs; either
failing fails the suite (the first non-zero status is returned). Ctrl-C reaches both
pytest processes, which stop their servers and browsers as usual.

Bytecode caches are written even where ``PYTHONDONTWRITEBYTECODE`` is set: each worker
and each process a test starts (the UI, the CLI, the servers) would otherwise compile
optvol and rewrite the tests' asserts again.

    python tools/run_tests.py [--workers N|auto]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
UI_TEST = "optvol_tests/defs/test_dagster_ui.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers",
        default="auto",
        help="pytest-xdist workers for the other tests (0: in one process)",
    )
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    pytest = [sys.executable, "-m", "pytest"]
    with tempfile.TemporaryFile() as ui_log:
        ui = subprocess.Popen(
            [*pytest, "-p", "no:cacheprovider", "-q", UI_TEST],
            cwd=REPOSITORY,
            env=env,
            stdout=ui_log,
            stderr=subprocess.STDOUT,
        )
        try:
            others = subprocess.call(
                [
                    *pytest,
                    "-n",
                    args.workers,
                    "--maxprocesses=4",
                    "--dist",
                    "worksteal",
                    f"--ignore={UI_TEST}",
                ],
                cwd=REPOSITORY,
                env=env,
            )
            ui_status = ui.wait()
        except KeyboardInterrupt:
            ui.wait()  # it got the same Ctrl-C and is stopping what it started
            return 130
        print(f"== {UI_TEST}, run beside the others", flush=True)
        ui_log.seek(0)
        sys.stdout.buffer.write(ui_log.read())
        sys.stdout.flush()
    return others or ui_status


if __name__ == "__main__":
    sys.exit(main())

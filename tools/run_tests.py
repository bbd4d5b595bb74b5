"""The test suite as ``make test`` runs it.

The Dagster UI and daemon test runs in a pytest process of its own, beside the others on
pytest-xdist workers: it spends most of its minute waiting on the runs its sensors
launch, and the other tests fill the cores meanwhile. Its output follows theirs; either
failing fails the suite (the first non-zero status is returned). A UI process that
collects nothing (``PYTEST_ADDOPTS="-m 'not dagster_ui'"`` reaches both) is no failure.
Ctrl-C reaches both pytest processes; this one waits for them to stop their servers and
browsers, then exits 130.

Bytecode caches are written even where ``PYTHONDONTWRITEBYTECODE`` is set: each worker
and each process a test starts (the UI, the CLI, the servers) would otherwise compile
optvol and rewrite the tests' asserts again.

    python tools/run_tests.py [--workers N|auto]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
UI_TEST = "optvol_tests/defs/test_dagster_ui.py"
NO_TESTS_COLLECTED = 5  # pytest.ExitCode.NO_TESTS_COLLECTED


def exit_status(returncode: int) -> int:
    """A child's return code as a shell reports it: ``128 + N`` for a kill by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def wait_through_interrupts(process: subprocess.Popen) -> int:
    """``process.wait()``, waiting on through further Ctrl-C: the child got the same
    signal and is stopping what it started."""
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


def run(others_command: list[str], ui_command: list[str], env: dict[str, str]) -> int:
    """Run ``ui_command`` in the background, its output kept, and ``others_command`` in
    the foreground; print the first's output after the second's; return the status."""
    with tempfile.TemporaryFile() as ui_log:
        ui = subprocess.Popen(
            ui_command, cwd=REPOSITORY, env=env, stdout=ui_log, stderr=subprocess.STDOUT
        )
        others = None
        try:
            others = subprocess.Popen(others_command, cwd=REPOSITORY, env=env)
            others_status = others.wait()
            if ui.poll() is None:
                print(f"== waiting for {UI_TEST}", flush=True)
            ui_status = ui.wait()
        except KeyboardInterrupt:
            if others:
                wait_through_interrupts(others)
            wait_through_interrupts(ui)
            return 130
        except BaseException:
            # The other run could not start: the UI test stops too, as on Ctrl-C (a kill
            # would leave its `dagster dev` running), and is not left behind.
            ui.send_signal(signal.SIGINT)
            try:
                ui.wait(timeout=60)
            except subprocess.TimeoutExpired:
                ui.kill()
                ui.wait()
            raise
        finally:
            print(f"== {UI_TEST}, run beside the others", flush=True)
            ui_log.seek(0)
            sys.stdout.buffer.write(ui_log.read())
            sys.stdout.flush()
    if ui_status == NO_TESTS_COLLECTED:
        ui_status = 0
    return exit_status(others_status) or exit_status(ui_status)


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
    others = [*pytest, "-n", args.workers, "--maxprocesses=4", "--dist", "worksteal",
              f"--ignore={UI_TEST}"]  # fmt: skip
    return run(others, [*pytest, "-p", "no:cacheprovider", "-q", UI_TEST], env)


if __name__ == "__main__":
    sys.exit(main())

"""tools/run_tests.py (``make test``): the UI test's process beside the others, its output
after theirs, and one exit status for both. Stand-in commands play the two pytest runs."""

import importlib.util
import os
import signal
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "run_tests.py"
spec = importlib.util.spec_from_file_location("run_tests", SCRIPT)
run_tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_tests)


def command(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def exiting(status: int, text: str = "") -> list[str]:
    return command(f"import sys, time; time.sleep(0.2); print({text!r}); sys.exit({status})")


@pytest.mark.parametrize(
    ("others", "ui", "status"),
    [
        (0, 0, 0),
        (1, 0, 1),  # a failure among the others
        (0, 1, 1),  # a failure of the UI test alone
        (2, 1, 2),  # the first non-zero status
        (0, 5, 0),  # the UI process collected nothing (-m 'not dagster_ui' reached it)
        (5, 0, 5),  # but the others collecting nothing is a failure
    ],
)
def test_one_status_for_both_runs(others, ui, status, capfd):
    assert run_tests.run(exiting(others), exiting(ui), dict(os.environ)) == status


def test_the_ui_output_follows_the_others(capfd):
    run_tests.run(exiting(0, "the others' line"), command("print('the UI line')"), dict(os.environ))
    out = capfd.readouterr().out
    assert out.index("the others' line") < out.index(run_tests.UI_TEST) < out.index("the UI line")


def test_a_ui_process_killed_by_a_signal_fails_the_run_as_a_shell_says(capfd):
    killed = command(f"import os; os.kill(os.getpid(), {int(signal.SIGKILL)})")
    assert run_tests.run(exiting(0), killed, dict(os.environ)) == 128 + signal.SIGKILL


def test_the_environment_lets_the_runs_write_bytecode(monkeypatch, capfd):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    calls = []
    monkeypatch.setattr(run_tests, "run", lambda others, ui, env: calls.append((others, ui, env)))
    run_tests.main(["--workers", "0"])
    ((others, ui, env),) = calls
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert others[-5:] == ["0", "--maxprocesses=4", "--dist", "worksteal",
                           f"--ignore={run_tests.UI_TEST}"]  # fmt: skip
    assert ui[-1] == run_tests.UI_TEST


def running_with(token: str) -> list[int]:
    """Processes whose command line holds ``token``."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if token.encode() in cmdline.read_bytes().split(b"\0"):
                pids.append(int(cmdline.parent.name))
        except OSError:
            pass  # gone meanwhile
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_a_run_that_cannot_start_stops_the_ui_process_too(tmp_path, capfd):
    token = f"ui-stand-in-{tmp_path.name}"
    ui = [*command("import time; time.sleep(60)"), token]
    with pytest.raises(FileNotFoundError):
        run_tests.run([str(tmp_path / "no-such-pytest")], ui, dict(os.environ))
    assert running_with(token) == []

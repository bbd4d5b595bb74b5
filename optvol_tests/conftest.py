from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from hypothesis import settings

from optvol_tests.builders import write_small_inputs

# Property tests draw 50 examples each in `make test`; HYPOTHESIS_PROFILE=thorough draws
# 300 each, for a longer search (before a release, say).
settings.register_profile("fast", max_examples=50)
settings.register_profile("thorough", max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what collection imported (Dagster, PyTorch, pandas, the tests) out of the
    garbage collector's sight: it lives as long as the process, and every full
    collection, automatic or the Parquet writer's own, would otherwise walk all of it.
    What tests allocate afterwards is collected as usual."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def _evaluation_runs_shared_by_workers(tmp_path_factory, request) -> None:
    """Let xdist workers share the evaluation runs of ``evaluation_fixtures`` through the
    session's temporary directory, which pytest removes in time like any other."""
    if hasattr(request.config, "workerinput"):  # an xdist worker
        import optvol_tests.evaluation_fixtures as runs

        runs.SHARED_DIR = tmp_path_factory.getbasetemp().parent / "evaluation_runs"


@pytest.fixture
def small_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary ``OPTVOL_DATA_DIR`` holding small inputs the test suite wrote."""
    root = tmp_path / "data"
    write_small_inputs(root)
    monkeypatch.setenv("OPTVOL_DATA_DIR", str(root))
    return root


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The ingest retries' waits (1, 2, 4 s), recorded instead of slept."""
    return record_retry_waits(monkeypatch)


def record_retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make the ingest retries record their waits in the list returned, not sleep."""
    import optvol.defs.shared.retry

    waits: list[float] = []
    monkeypatch.setattr(optvol.defs.shared.retry, "sleep", waits.append)
    return waits


@pytest.fixture
def step_retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits Dagster's step ``RetryPolicy`` asks for (1, 3, 7 s for an ingest step),
    recorded, and the step retried at once. An in-process run (``dg.materialize``)
    ignores the executor's ``retries`` config, so a failing ingest step would otherwise
    wait out every delay."""
    import dagster as dg

    waits: list[float] = []
    ask = dg.RetryPolicy.calculate_delay

    def record(policy, attempt: int) -> float:
        waits.append(ask(policy, attempt))
        return 0

    monkeypatch.setattr(dg.RetryPolicy, "calculate_delay", record)
    return waits


@pytest.fixture(scope="session")
def demo_sample(tmp_path_factory) -> dict[str, Path]:
    """The embedded demo sample (~150k optionsDX rows), written once per test session."""
    from optvol.sample import write_sample_data

    return write_sample_data(tmp_path_factory.mktemp("sample"), size="demo")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a module: tiny models train fastest on one thread, and
    far faster when other work shares the CPUs."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def served_root(tmp_path_factory) -> Path:
    """A data root with both models, their tables, evaluations and plots, as the assets
    write them; shared by the serving tests, which only read it."""
    from optvol_tests.evaluation_fixtures import write_served_artifacts

    return write_served_artifacts(tmp_path_factory.mktemp("served") / "data")


@pytest.fixture(scope="session")
def served_models(served_root: Path):
    """The models of ``served_root``, loaded once."""
    from optvol.serve.models import ServedModels

    return ServedModels.load(served_root)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end test of the UI and the daemon (about a minute, mostly spent on the
    runs its sensors launch) goes first: on several workers (``pytest -n N``), the other
    workers' tests then fill that minute instead of one worker running it at the end.
    ``make test`` runs it in a pytest process of its own beside the workers."""
    items.sort(key=lambda item: item.get_closest_marker("dagster_ui") is None)

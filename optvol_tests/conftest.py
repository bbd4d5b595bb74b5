from __future__ import annotations

from pathlib import Path

import pytest

from optvol_tests.builders import write_small_inputs


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary ``OPTVOL_DATA_DIR`` holding small inputs the test suite wrote."""
    root = tmp_path / "data"
    write_small_inputs(root)
    monkeypatch.setenv("OPTVOL_DATA_DIR", str(root))
    return root


@pytest.fixture(scope="session")
def demo_sample(tmp_path_factory) -> dict[str, Path]:
    """The embedded demo sample (~150k optionsDX rows), written once per test session."""
    from optvol.sample import write_sample_data

    return write_sample_data(tmp_path_factory.mktemp("sample"), size="demo")

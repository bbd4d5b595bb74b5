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

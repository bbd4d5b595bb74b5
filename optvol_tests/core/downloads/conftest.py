from __future__ import annotations

import pytest

from optvol_tests.sources import local_sources


@pytest.fixture
def served(monkeypatch):
    """The loopback source server, the downloads' retry waits recorded in its ``waits``
    instead of slept."""
    import optvol.core.downloads.http as http

    with local_sources() as sources:
        monkeypatch.setattr(http, "sleep", sources.waits.append)
        yield sources

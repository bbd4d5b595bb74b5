"""The requests of a call that cannot be priced, and the one error the call answers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from optvol.core.common.errors import RequestError


class Problems:
    """Which requests of a call cannot be priced, and the error to answer: the first
    request's, and of its problems the one a check found first. The checks run in the
    order one request's would, so a call answers as if its requests were priced one by
    one, stopping at the first that fails."""

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.first: tuple[int, RequestError] | None = None

    def add(self, index: int, error: RequestError) -> None:
        if not self.bad[index]:
            self.bad[index] = True
            if self.first is None or index < self.first[0]:
                self.first = (index, error)

    def add_where(self, mask: np.ndarray, error_of: Callable[[int], RequestError]) -> None:
        if not mask.any():
            return
        new = mask & ~self.bad
        if new.any():
            index = int(np.argmax(new))
            self.bad |= new
            if self.first is None or index < self.first[0]:
                self.first = (index, error_of(index))

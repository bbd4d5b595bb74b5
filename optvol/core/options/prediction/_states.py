"""What the GRU reads of a contract's own history, computed ahead for the data's last days.

A prediction for day ``t`` reads the contract's quotes of ``t-L .. t-1`` and the
underlying's returns into those days: data a request cannot change, as its ``S_t``
enters only the static inputs. So the network's final hidden state over that window,
the window's ``iv_deviation_vs_recent`` and its count of quoted days are functions of
the contract and ``t`` alone. :class:`HistoryStates` computes them once, in one batch
per day, for every contract quoted on the days before the ``t`` most requests ask for
(the data's last days and the day after), and computes those of any other window when
it is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from optvol.core.options.gru.network import Scalers, padded_returns, scaled_slots
from optvol.core.options.gru.numpy_forward import NumpyOptionGRU
from optvol.core.options.samples import RECENT_DAYS, OptionSamples, deviation_vs_recent


@dataclass(frozen=True)
class WindowStates:
    """Per window: the GRU's final hidden state ``(k, H)`` float32, the
    ``iv_deviation_vs_recent`` of its last days and how many of its days were quoted."""

    hidden: np.ndarray
    recent: np.ndarray
    quoted_days: np.ndarray

    @classmethod
    def zeros(cls, n: int, hidden_size: int) -> WindowStates:
        return cls(np.zeros((n, hidden_size), np.float32), np.zeros(n), np.zeros(n, np.int64))

    def take(self, index: np.ndarray) -> WindowStates:
        return WindowStates(self.hidden[index], self.recent[index], self.quoted_days[index])

    @classmethod
    def concat(cls, parts: Sequence[WindowStates], hidden_size: int) -> WindowStates:
        if not parts:
            return cls.zeros(0, hidden_size)
        return cls(*(np.concatenate([getattr(part, name) for part in parts])
                     for name in ("hidden", "recent", "quoted_days")))  # fmt: skip

    def put(self, where: np.ndarray, states: WindowStates) -> None:
        """Write ``states`` at ``where`` (an index or a mask)."""
        self.hidden[where], self.recent[where], self.quoted_days[where] = (
            states.hidden, states.recent, states.quoted_days,
        )  # fmt: skip


class HistoryStates:
    """The :class:`WindowStates` of windows of the samples' contracts or of supplied
    histories, with those of the days ``ahead`` computed when built (read-only after)."""

    def __init__(
        self, samples: OptionSamples, network: NumpyOptionGRU, scalers: Scalers,
        ahead: Iterable[int],
    ) -> None:  # fmt: skip
        self.samples = samples
        self.network = network
        self.scalers = scalers
        self.length = samples.config.sequence_length
        self.hidden_size = network.layers[-1].w_hh.shape[1]
        self._returns = padded_returns(samples.underlying_return, scalers, self.length)
        # The t-1 quotes of the days ahead, each day in one batch, then sorted by position
        # (a quote is the t-1 of one day only) so that a request's are found by bisection.
        positions, parts = [np.empty(0, np.int64)], []
        for sample_day in ahead:
            on_day = np.flatnonzero(samples.quotes.day == sample_day - 1)
            positions.append(on_day)
            parts.append(self._computed(on_day, np.full(len(on_day), sample_day)))
        positions = np.concatenate(positions)
        states = WindowStates.concat(parts, self.hidden_size)
        order = np.argsort(positions)
        self._ahead, self._ahead_states = positions[order], states.take(order)

    def of_windows(self, window: np.ndarray, quoted: np.ndarray, sample_day: np.ndarray):
        """States of windows ``(n, L, HISTORY_FEATURES)`` with their quoted mask ``(n, L)``
        ending on the day before each ``sample_day``."""
        n, L, width = window.shape
        slots = scaled_slots(window.reshape(n * L, width), quoted.reshape(-1), self.scalers)
        # Padded returns: the window t-L .. t-1 of day t starts at index t.
        returns = self._returns[sample_day[:, None] + np.arange(L)]
        sequence = np.concatenate([slots.reshape(n, L, width + 1), returns[..., None]], axis=-1)
        last = slice(-RECENT_DAYS - 1, None)
        return WindowStates(
            self.network.final_hidden(sequence),
            deviation_vs_recent(window[:, last], quoted[:, last]),
            quoted.sum(axis=1),
        )

    def of_quotes(self, position: np.ndarray, sample_day: np.ndarray) -> WindowStates:
        """States of the windows whose ``t-1`` quote is at ``position`` of the samples'
        quotes (on day ``sample_day - 1``): those computed ahead, the others computed now
        in one batch."""
        if not len(self._ahead):
            return self._computed(position, sample_day)
        at = np.minimum(np.searchsorted(self._ahead, position), len(self._ahead) - 1)
        states = self._ahead_states.take(at)
        missing = self._ahead[at] != position
        if missing.any():
            states.put(missing, self._computed(position[missing], sample_day[missing]))
        return states

    def _computed(self, position: np.ndarray, sample_day: np.ndarray) -> WindowStates:
        slots = self.samples.quotes.slot[position][:, None] - self.length + 1
        slots = slots + np.arange(self.length)
        return self.of_windows(self.samples.history[slots], self.samples.quoted[slots],
                               sample_day)  # fmt: skip

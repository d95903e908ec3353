"""Helpers of the timeline view (:mod:`clientsim.simulator.gui.timeline_view`): the legend as rich text, growable numpy
columns for markers (appending is amortized O(1), reading needs no list → array copy per redraw) and the
clustering that merges markers a few pixels apart."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from clientsim.simulator.lanes import legend


def legend_html() -> str:
    """The colour key of spans and markers (:func:`clientsim.simulator.lanes.legend`) as one line of rich text."""
    items = []
    for entry in legend():
        if entry.what == 'state':
            items.append(f'<span style="background:{entry.colour}">&nbsp;&nbsp;&nbsp;</span>&nbsp;{entry.label}')
        else:
            items.append(f'<span style="color:{entry.colour}">{entry.glyph}</span>&nbsp;{entry.label}')
    return f'<span style="font-size:11px">{"&nbsp;&nbsp; ".join(items)}</span>'


def cluster(xs: np.ndarray, rows: np.ndarray, bucket_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge points of one row whose x falls in the same ``bucket_ms`` wide slot: returns (indices of the first
    point of each cluster, counts). O(n log n) in numpy; ``bucket_ms`` > 0."""
    if not len(xs):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    key = np.floor(xs / bucket_ms).astype(np.int64) * 8192 + rows.astype(np.int64)
    _keys, first, counts = np.unique(key, return_index=True, return_counts=True)
    return first, counts


class Column:
    """``Column(dtype)``: a numpy array that grows by :meth:`append` (capacity doubles: amortized O(1)).
    :attr:`array` is a view of the values so far (no copy); ``len()`` and iteration as for a list."""

    def __init__(self, dtype: Any = float) -> None:
        self._data = np.zeros(64, dtype=dtype)
        self._n = 0

    def append(self, value: Any) -> None:
        """Add one value at the end."""
        if self._n == len(self._data):
            self._data = np.concatenate([self._data, np.zeros_like(self._data)])
        self._data[self._n] = value
        self._n += 1

    @property
    def array(self) -> np.ndarray:
        """The values so far (a view: valid until the next :meth:`append`)."""
        return self._data[:self._n]

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[Any]:
        return iter(self.array.tolist())

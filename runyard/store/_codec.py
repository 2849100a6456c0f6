"""Packing of metric points into chunk blobs.

A chunk holds n points of one key as three columns: steps (int64, delta-encoded), timestamps
(int64 microseconds, delta-encoded) and values (float64, NaN and ±inf kept bit-exact), each
column byte-shuffled so that zlib sees the slowly-changing high bytes side by side.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


FORMAT_V1 = 1
_LEVEL = 1  # zlib's fastest level: most of the gain, a fraction of the cost


def _shuffle(a: npt.NDArray[np.generic]) -> bytes:
    import numpy as np

    return a.view(np.uint8).reshape(-1, 8).T.tobytes()


def _unshuffle(raw: bytes, n: int, dtype: type[np.generic]) -> npt.NDArray[np.generic]:
    import numpy as np

    return np.frombuffer(raw, dtype=np.uint8).reshape(8, n).T.copy().view(dtype).reshape(n)


def encode(
    steps: npt.NDArray[np.int64], values: npt.NDArray[np.float64], ts: npt.NDArray[np.float64]
) -> bytes:
    import numpy as np

    steps = np.ascontiguousarray(steps, dtype=np.int64)
    micros = np.round(np.asarray(ts, dtype=np.float64) * 1e6).astype(np.int64)
    payload = b"".join(
        (
            _shuffle(np.diff(steps, prepend=np.int64(0))),
            _shuffle(np.diff(micros, prepend=np.int64(0))),
            _shuffle(np.ascontiguousarray(values, dtype=np.float64)),
        )
    )
    return bytes([FORMAT_V1]) + zlib.compress(payload, _LEVEL)


def encode_point(step: int, value: float, ts: float) -> bytes:
    """``encode`` of one point, without NumPy: a batch of runs writes thousands of these.

    With n = 1 the deltas are the numbers themselves and the shuffle changes nothing."""
    payload = struct.pack("<qqd", step, round(ts * 1e6), value)
    return bytes([FORMAT_V1]) + zlib.compress(payload, _LEVEL)


def decode(
    blob: bytes, n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    import numpy as np

    if not blob or blob[0] != FORMAT_V1:
        raise ValueError(f"unknown metric chunk format {blob[:1]!r}")
    raw = zlib.decompress(blob[1:])
    if len(raw) != 24 * n:
        raise ValueError(f"metric chunk holds {len(raw)} bytes, expected {24 * n}")
    size = 8 * n
    steps = np.cumsum(_unshuffle(raw[:size], n, np.int64), dtype=np.int64)
    micros = np.cumsum(_unshuffle(raw[size : 2 * size], n, np.int64), dtype=np.int64)
    values = _unshuffle(raw[2 * size :], n, np.float64)
    return steps, values.astype(np.float64, copy=False), micros.astype(np.float64) / 1e6

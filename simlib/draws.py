"""Random draws that keep common random numbers, made only where they are needed.

A rule that draws for a few persons (the applicants, the reviewed, the patients) could
draw from the stream just as many numbers, but then how many it draws depends on the
parameters: a scenario with a higher take-up would shift every later draw of the year to
other persons, and two scenarios run with the same seed would no longer face the same luck
(common random numbers, on which scenario differences, sweeps and calibration rely).  So:

* a draw that most rows read (deaths, medical episodes) is one uniform number per row
  (:func:`uniforms`, float32: a resolution of 2⁻²⁴, far finer than any probability in the
  model, at half the cost of float64);
* a draw that a few rows read is *keyed* (:func:`for_rows`): a function of the row and of
  a key taken from the stream once per draw (SplitMix64 read at the row,
  :func:`keyed_uniforms`), so its cost grows with the rows read, the stream advances by
  one number however many there are, and a row's number is the same whatever the others
  draw.  Normals are the normal quantile Φ⁻¹ of such numbers, months their twelfths.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri


def uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """One uniform number in [0, 1) per row (float32)."""
    return rng.random(n, dtype=np.float32)


def for_rows(rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
    """One uniform number in [0, 1) for each of ``rows`` (indices), keyed by the row and a
    key drawn now from ``rng`` (:func:`keyed_uniforms`): one draw from ``rng`` however many
    rows, a cost that grows with the rows read, and each row's number whatever the others'."""
    return keyed_uniforms(rng.integers(2**64, dtype=np.uint64), rows)


def normals_for_rows(rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
    """One standard normal number for each of ``rows``, keyed as :func:`for_rows`."""
    return keyed_normals(rng.integers(2**64, dtype=np.uint64), rows)


def months(u: np.ndarray) -> np.ndarray:
    """A month index 0-11 from uniforms, each month equally likely."""
    return np.minimum((np.asarray(u) * 12).astype(np.int32), 11)


# --- keyed draws: a function of a yearly key and the row --------------------------------


def keyed_uniforms(key: np.uint64, rows: np.ndarray, open_below: bool = False) -> np.ndarray:
    """One uniform number in [0, 1) (in (0, 1) if ``open_below``) for each row: a function
    of ``key`` and the row only, whichever other rows draw.

    It is SplitMix64 (Steele, Lea & Flood 2014, the generator that seeds numpy's own)
    read at position ``row`` of the stream started at ``key``: the 64-bit mix of
    ``key + row · γ``; its top 53 bits make the number, as ``Generator.random`` does.
    """
    return (_bits(key, rows) + (0.5 if open_below else 0.0)) * 2.0**-53


def keyed_normals(key: np.uint64, rows: np.ndarray) -> np.ndarray:
    """One standard normal number for each row (the normal quantile of :func:`keyed_uniforms`)."""
    return ndtri(keyed_uniforms(key, rows, open_below=True))


def keyed_months(key: np.uint64, rows: np.ndarray) -> np.ndarray:
    """One month 0-11 for each row, each equally likely: ⌊12 · k / 2⁵³⌋ of the 53 bits k
    of :func:`keyed_uniforms` (in integers, exact)."""
    return ((_bits(key, rows) * np.uint64(12)) >> np.uint64(53)).astype(np.int64)


_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX = (np.uint64(30), np.uint64(0xBF58476D1CE4E5B9), np.uint64(27), np.uint64(0x94D049BB133111EB))


def _bits(key: np.uint64, rows: np.ndarray) -> np.ndarray:
    """The top 53 bits of the SplitMix64 output at position ``row`` from ``key``."""
    z = np.asarray(rows, dtype=np.uint64) * _GAMMA + np.uint64(key)  # modulo 2**64
    z = (z ^ (z >> _MIX[0])) * _MIX[1]
    z = (z ^ (z >> _MIX[2])) * _MIX[3]
    z ^= z >> np.uint64(31)
    return z >> np.uint64(11)

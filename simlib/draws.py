"""Random draws that keep common random numbers, made only where they are needed.

A rule that draws for a few persons (the applicants, the reviewed, the patients) could
draw just as many numbers, but then how many it draws depends on the parameters: a
scenario with a higher take-up would shift every later draw of the year to other persons,
and two scenarios run with the same seed would no longer face the same luck (common
random numbers, on which scenario differences, sweeps and calibration rely).  So every
rule draws one uniform number per row, whoever it concerns, and only the rows it reads
are turned into what the rule needs: a yes/no at a probability, a month, a normal
deviate.  Uniforms are drawn as float32 (a resolution of 2⁻²⁴, far finer than any
probability in the model), which halves their cost; the few that are read are turned
into normals by the inverse normal distribution function (Φ⁻¹, ``scipy.special.ndtri``),
cheaper than drawing a normal for every row.

Where even one draw per row is too many (dibao, where a few thousand households of
450,000 are reviewed or apply), a *keyed* draw is a function of the row and of a key
drawn once a year for each kind of draw (:func:`keyed_uniforms`: SplitMix64 read at
the row): its cost grows with the rows read, and a household's number is the same
whatever the others draw.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

_HALF_STEP = 2.0**-25  # float32 uniforms are multiples of 2⁻²⁴ in [0, 1): centred, never 0


def uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """One uniform number in [0, 1) per row (float32)."""
    return rng.random(n, dtype=np.float32)


def normals(u: np.ndarray) -> np.ndarray:
    """Standard normal deviates from uniforms (float64): Φ⁻¹(u), u moved off 0."""
    return ndtri(np.asarray(u, dtype=np.float64) + _HALF_STEP)


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

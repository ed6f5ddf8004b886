"""Random draws that keep common random numbers, read only where they are needed.

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

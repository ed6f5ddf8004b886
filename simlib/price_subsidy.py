"""The temporary price subsidy (临时价格补贴) paid to assistance recipients.

Rule 6 of the standard-adjustment mechanism (DESIGN §3; 社会救助和保障标准与物价上涨
挂钩的联动机制, methods_rules M8/M9): when CPI or food CPI year on year passes its
threshold, recipients are paid a subsidy for each month the trigger holds.  The
standards module decides the months and the amount per person; this module pays
it.  The paid months of a household are assumed spread evenly over the year, so a
household paid ``m`` months receives the subsidy for ``m × months_triggered / 12``
of them.
"""

from __future__ import annotations

import numpy as np

from simlib.metrics import Metric

METRICS = [
    Metric(
        "price_subsidy_months",
        "months",
        "weighted_mean",
        "Months the price linkage was triggered",
        "价格联动机制启动月数",
    ),
]


def payments(
    months_paid: np.ndarray,
    members: np.ndarray,
    stratum: np.ndarray,
    triggered_months: int,
    amount: np.ndarray,
) -> np.ndarray:
    """Subsidy per household (yuan): members × overlapping months × amount of its stratum."""
    months_paid = np.asarray(months_paid)
    members = np.broadcast_to(members, months_paid.shape)
    paid = np.flatnonzero(months_paid != 0)  # nothing for the others
    out = np.zeros(months_paid.shape, dtype=np.result_type(members, months_paid, amount, 1.0))
    share = triggered_months / 12.0
    out[paid] = members[paid] * months_paid[paid] * share * amount[stratum[paid]]
    return out

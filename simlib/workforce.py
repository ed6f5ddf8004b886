"""A workforce as stocks and flows (人才队伍): hires, leavers and certification.

One pipeline for the social-work workforce (社会工作专业人才, :mod:`simlib.social_work`) and the
care workers of the elderly-care homes (养老护理员, :mod:`simlib.care_workforce`); the plan
sets a size and a certified part for each (三(五), 三(八)1).  Per area × stratum cell, one
year (:func:`year_flows`):

1. **leavers** (attrition 流失): ``attrition_rate`` × the workers at the start of the year,
   certified and uncertified alike (``certified_leavers`` = rate × certified at the start);
2. **hires**: the caller's inflow (graduates, trainees, funded recruitment), a share
   ``hires_certified_share`` of them already holding the certificate;
3. **certification** (持证): the uncertified in post (the stayers and this year's uncertified
   hires) are the *pool*.  The year's training places (city-wide) are spread over the cells
   in proportion to their pool, never more than the pool; trained workers pass at
   ``pass_share``, the untrained rest certify on their own at ``base_rate``.

Stock and flows, per cell, exactly (the stocks are computed as these sums)::

    workers   = workers_start + hires − leavers
    certified = certified_start + certified_hires + certified_in − certified_leavers

The flows are the *expected* flows (no random draws): a workforce of a few hundred to a
few thousand in a city, where what is uncertain is the rates, not which worker happens to
leave.  Replicates therefore differ only through what the caller's hires follow (the city's
residents and recipients); stocks are real numbers, not whole persons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_TOLERANCE = 1e-9


@dataclass
class Workforce:
    """Workers and the certified among them, per cell (same shape)."""

    workers: np.ndarray
    certified: np.ndarray

    def __post_init__(self) -> None:
        self.workers = np.asarray(self.workers, dtype=float)
        self.certified = np.asarray(self.certified, dtype=float)
        if self.workers.shape != self.certified.shape:
            raise ValueError(
                f"workers {self.workers.shape} and certified {self.certified.shape} differ in shape"
            )
        slack = _TOLERANCE * np.maximum(self.workers, 1.0)
        if (self.certified < 0).any() or (self.certified > self.workers + slack).any():
            raise ValueError("the certified must lie between 0 and the workers in every cell")

    @property
    def uncertified(self) -> np.ndarray:
        return np.maximum(self.workers - self.certified, 0.0)


@dataclass(frozen=True)
class Flows:
    """One year of a workforce per cell: the stocks at the start and the end, and the flows."""

    workers_start: np.ndarray
    certified_start: np.ndarray
    hires: np.ndarray
    certified_hires: np.ndarray
    leavers: np.ndarray
    certified_leavers: np.ndarray
    trained: np.ndarray
    """Workers who took a training place (the places used)."""
    certified_in: np.ndarray
    """Uncertified workers in post who obtained the certificate (trained or not)."""
    workers: np.ndarray
    certified: np.ndarray

    @property
    def inflow(self) -> np.ndarray:
        return self.hires

    @property
    def outflow(self) -> np.ndarray:
        return self.leavers

    @property
    def end(self) -> Workforce:
        return Workforce(self.workers, self.certified)


def check_share(name: str, value: float | np.ndarray) -> None:
    """Refuse a rate or share outside 0-1."""
    v = np.asarray(value, dtype=float)
    if not np.isfinite(v).all() or (v < 0).any() or (v > 1).any():
        raise ValueError(f"{name} must lie between 0 and 1 (got {value})")


def check_count(name: str, value: float | np.ndarray) -> None:
    """Refuse a negative (or not finite) number of persons or places."""
    v = np.asarray(value, dtype=float)
    if not np.isfinite(v).all() or (v < 0).any():
        raise ValueError(f"{name} cannot be negative (got {value})")


def spread(total: float, weights: np.ndarray) -> np.ndarray:
    """A city-wide number spread over the cells in proportion to ``weights`` (equal shares
    when every weight is zero)."""
    check_count("total", total)
    w = np.asarray(weights, dtype=float)
    check_count("weights", w)
    if w.sum() <= 0:
        return np.full(w.shape, total / w.size)
    return total * w / w.sum()


def fill(total: float, room: np.ndarray) -> np.ndarray:
    """A city-wide number placed in the cells' ``room``: ``min(total, room in the city)``
    spread in proportion to the room, so no cell gets more than its room."""
    check_count("total", total)
    room = np.asarray(room, dtype=float)
    check_count("room", room)
    city = room.sum()
    if city <= 0:
        return np.zeros_like(room)
    return np.minimum(min(total, city) * room / city, room)


def certification(
    pool: np.ndarray, places: float, pass_share: float, base_rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Trained and newly certified workers per cell from the uncertified ``pool``.

    The ``places`` (city-wide) fill the pool (:func:`fill`); the trained pass at
    ``pass_share``; the untrained rest of the pool certify at ``base_rate``.
    """
    check_share("pass_share", pass_share)
    check_share("base_rate", base_rate)
    trained = fill(places, pool)
    return trained, pass_share * trained + base_rate * (np.asarray(pool, dtype=float) - trained)


def year_flows(
    stock: Workforce,
    *,
    attrition_rate: float,
    hires: np.ndarray,
    hires_certified_share: float,
    training_places: float,
    pass_share: float,
    base_rate: float,
) -> Flows:
    """The year's flows and the stocks at its end (see the module docstring for the order)."""
    check_share("attrition_rate", attrition_rate)
    check_share("hires_certified_share", hires_certified_share)
    hires = np.broadcast_to(np.asarray(hires, dtype=float), stock.workers.shape).copy()
    check_count("hires", hires)
    leavers = attrition_rate * stock.workers
    certified_leavers = attrition_rate * stock.certified
    certified_hires = hires_certified_share * hires
    pool = (stock.uncertified - (leavers - certified_leavers)) + (hires - certified_hires)
    trained, certified_in = certification(
        np.maximum(pool, 0.0), training_places, pass_share, base_rate
    )
    return Flows(
        workers_start=stock.workers,
        certified_start=stock.certified,
        hires=hires,
        certified_hires=certified_hires,
        leavers=leavers,
        certified_leavers=certified_leavers,
        trained=trained,
        certified_in=certified_in,
        workers=stock.workers + hires - leavers,
        certified=stock.certified + certified_hires + certified_in - certified_leavers,
    )

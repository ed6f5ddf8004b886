"""The errors the command line reports in one line, with no traceback.

:class:`UserError` is a mistake a user can fix (a bad file, option or value): exit
status 2.  :class:`InvariantError` is a year in which the model broke one of its own
rules (:mod:`simlib.invariants`); a run that meets one ends ``failed`` with the
message (year, area, metric) in its manifest.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user asked for (a bad file, option or value): no traceback."""


class InvariantError(UserError):
    """The model broke one of its own rules in a simulated year (an accounting identity,
    a bound): the message names the year, the area (code and name) and the metric."""

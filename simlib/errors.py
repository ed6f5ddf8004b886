"""The one error a user can fix: reported by the command line in one line, exit status 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user asked for (a bad file, option or value): no traceback."""

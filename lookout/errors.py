"""Errors a command explains in one line (the user's mistake or the machine's state), as
opposed to bugs, which keep their traceback."""

from __future__ import annotations


class CommandError(Exception):
    """``lookout`` prints ``lookout: <message>`` and exits 1."""

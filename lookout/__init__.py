"""Lookout's composition root: the command line, the all-in-one runner, logging set-up."""

__version__ = "0.1.0"

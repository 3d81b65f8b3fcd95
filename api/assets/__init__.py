"""Patrol assets: registration, positions, and the nearest help to an alert."""

"""Vessel tracks, detectors and the alert engine."""

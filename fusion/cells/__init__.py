"""The cell stage: pair detectors (rendezvous, dark target) keyed by grid cell."""

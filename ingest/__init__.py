"""AIS and patrol-report intake: sources, decoding, publishing to the bus."""

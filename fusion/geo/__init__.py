"""Geometry for fusion: distance to shore, zones in an STRtree, great-circle distances."""

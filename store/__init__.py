"""Time-series store: SQL migrations, the sink from topics to tables, the COP queries."""

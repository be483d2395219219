"""Metric providers: where analysis checks read numbers the evaluators do not measure."""

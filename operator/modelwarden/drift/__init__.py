"""Drift, performance, calibration and fairness checks for deployed models.

Pure Python + numpy/scipy, no Kubernetes: a :mod:`~modelwarden.drift.profile` of the
training data, fixed-size mergeable :mod:`~modelwarden.drift.summary` windows of live
traffic, one module per statistic under :mod:`~modelwarden.drift.stats`, and
:func:`~modelwarden.drift.report.evaluate` to judge them.  See docs/drift.md.
"""

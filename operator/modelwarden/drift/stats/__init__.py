"""Drift and quality statistics, one module each, all behind :class:`base.Statistic`."""

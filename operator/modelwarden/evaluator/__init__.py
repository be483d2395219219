"""The monitoring sidecar: proxy or collector, windows, report (see docs/evaluator.md).

`modelwarden.evaluator.report` is the only module the operator imports; it has no aiohttp.
"""

"""Pure renderers of governance documents (model cards) from the typed API objects."""

from modelwarden.reports.model_card import render_model_card

__all__ = ["render_model_card"]

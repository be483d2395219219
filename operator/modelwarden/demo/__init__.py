"""The local demo (``make demo``)."""

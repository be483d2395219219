"""modelwarden: a Kubernetes operator that keeps ML models trustworthy after they ship."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("modelwarden")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

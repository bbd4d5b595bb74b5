"""optvol: Dagster pipelines that turn end-of-day option chains and index/volatility
history into tested predictive models."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("optvol")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

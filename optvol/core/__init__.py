"""Domain logic, plain Python over pandas, NumPy, PyArrow and PyTorch, with no Dagster
import: options/ and volatility/ (one folder per pipeline), reports/ (documents, Markdown
and PDF) and common/ (what both use), plus ops/ (alerts, input watch). The pipelines use
reports/ and common/ and never each other; reports/ uses common/ alone."""

__all__ = ["common", "ops", "options", "reports", "volatility"]

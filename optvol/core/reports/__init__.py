"""Reports as documents: the document model, its Markdown and PDF renderings, the files
written, the blocks both reports share and the plotting helpers."""

__all__ = ["common", "document", "files", "markdown", "pdf", "plotting"]

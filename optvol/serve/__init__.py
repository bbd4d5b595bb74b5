"""Serving the materialized models: the HTTP API (:mod:`optvol.serve.app`, run by
:mod:`optvol.serve.server`) and the Streamlit dashboard (``optvol/serve/dashboard.py``).

Both read the same artifacts through :class:`optvol.serve.models.ServedModels`.
"""

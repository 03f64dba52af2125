"""PruneScope compute backend: datasets, reference fine-tuning, representations, methods, store.

Nothing in this package imports Streamlit; the app in ``app/`` is a thin reader over it.
"""

__version__ = "0.1.0"

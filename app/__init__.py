"""The PruneScope dashboard: thin Streamlit pages over cached loaders and pure plot builders.

``figures`` and ``views`` are plain functions (no Streamlit) tested without a browser; ``loaders``
turns the run store into their inputs under Streamlit's cache; ``app_pages/`` are the scripts users see,
listed once in ``navigation.PAGES``.
"""

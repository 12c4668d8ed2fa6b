"""Labeled test corpus for measuring detection precision and recall (see generate.py)."""

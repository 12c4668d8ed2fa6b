"""Policy: which profile a sender falls under, and what its chain decides.

Pure functions over plain data (STYLE.md §5): rules answer one question and
say why; a profile's chain maps the first matching rule to an action. Not
yet called by ``serve`` (issue 4: the actions are still to be wired).
"""

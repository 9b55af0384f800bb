"""System-health metrics: the registry, the data contract they read (`repo_data`), one module per domain.

Metric functions are pure: they take a `RepoData` and return a value, `None` for "no data", or raise.
"""

"""Reading GitHub: the only package that imports PyGithub.

`source` makes one per-refresh view of each repository and fills the metrics' data contract
(`exporter.metrics.repo_data`); every request it makes passes through `transport` (the HTTP seam
under PyGithub) and its middlewares: `rate_limit`, `etag_cache` (conditional requests) and
`answers` (checks of GitHub's answers). `credentials` holds the token.
"""

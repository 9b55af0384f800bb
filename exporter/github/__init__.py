"""Reading GitHub: the only package that imports PyGithub.

`source` makes one per-refresh view of each repository and fills the metrics' data contract
(`exporter.metrics.repo_data`), with `deployments` and `pulls` reading those data kinds and `facts`
keeping what GitHub will never change; every request passes through `transport` (the HTTP seam
under PyGithub) and its middlewares: `rate_limit`, `pacing` (the secondary limits: points a
minute, requests in flight), `etag_cache` (conditional requests) and `answers` (checks of GitHub's
answers). `credentials` and `app_auth` hold the token or the App's;
`discovery` lists the repositories of `org:`/`user:` entries.
"""

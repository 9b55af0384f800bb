"""The HTTP service: /metrics for the agent and browsers, /refresh, /healthz and the index page."""

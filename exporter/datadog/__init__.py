"""What is Datadog-specific beyond the scrape: names, agent conf, dashboard, monitors, SLOs and their push.

Everything here is generated from the metric registry and `exporter.catalog`, so a metric added in
one module reaches the agent's mapping, the catalog, the dashboard and (with a goal) a monitor and
an SLO without another edit. Only `push` and `keys` talk to the network (Datadog's API, AWS).
"""

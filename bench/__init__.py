"""`python -m bench`: what the exporter costs (GitHub quota, refresh time, memory), beside baselines."""

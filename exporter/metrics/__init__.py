"""System-health metric functions, one module per domain."""

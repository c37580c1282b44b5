"""Operators' endpoints: /metrics and /readyz, beside any web app and on the worker's own port."""

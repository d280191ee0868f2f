"""Inspect-ai tasks shipped with the adapter, for tests and as examples (no hub needed)."""

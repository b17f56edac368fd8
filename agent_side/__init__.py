"""Agent side."""

"""Client side."""

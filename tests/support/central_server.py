"""Fixtures: the reference central server on a loopback port (filled in by the central work)."""

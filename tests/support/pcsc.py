"""Fixtures: pcscd and the vpcd virtual card (filled in by the hardware work)."""

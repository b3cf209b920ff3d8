"""Distances and match decisions. Pure core."""

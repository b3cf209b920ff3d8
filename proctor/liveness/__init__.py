"""Liveness and replay defences."""

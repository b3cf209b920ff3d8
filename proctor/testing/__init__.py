"""Shipped test doubles for the pure logic and the use cases."""

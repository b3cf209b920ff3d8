"""Use cases orchestrating the pure core and the ports. No SQL, no HTTP."""

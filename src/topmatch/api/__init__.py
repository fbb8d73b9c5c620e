"""HTTP wiring: the app factory, dependencies, error mapping and limits."""

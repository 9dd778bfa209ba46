"""Demo data steps of the production layer (called by `seed_demo`)."""

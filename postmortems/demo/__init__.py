"""Demo data steps of the learning layer (called by `seed_demo`)."""

"""Every write of the production layer: catalog, deploys and commits, webhooks, alerts, metrics."""

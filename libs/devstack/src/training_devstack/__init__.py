"""Local infrastructure: embedded PostgreSQL and NATS servers, and the `make run` launcher."""

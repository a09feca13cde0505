"""Identity's domain: pure rules, no gRPC, SQLAlchemy or NATS."""

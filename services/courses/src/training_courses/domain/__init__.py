"""Course review and class-opening rules, free of gRPC, SQLAlchemy and NATS."""

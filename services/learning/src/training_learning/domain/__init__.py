"""The crediting rules, free of gRPC, SQLAlchemy and NATS."""

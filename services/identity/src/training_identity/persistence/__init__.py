"""Identity's tables (SQLAlchemy Core) and queries."""

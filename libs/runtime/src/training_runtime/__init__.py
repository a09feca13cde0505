"""The shared runtime every service is built on (see docs/architecture.md)."""

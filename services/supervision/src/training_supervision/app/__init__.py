"""Use cases: records from events, pushing, batches, reconciliation, commands, queries."""

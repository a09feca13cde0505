"""Use cases: issuance from events, verification, reads and revocation."""

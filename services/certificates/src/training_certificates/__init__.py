"""Training-hour certificates: issuance from verified results, signatures, verification, revocation."""

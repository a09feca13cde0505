"""The identity service: accounts, institutions, tokens and signing keys (training.identity.v1)."""

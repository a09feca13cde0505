"""Use cases: one unit of work each; row scoping by the caller's role."""

"""The sync with the provincial supervision platform (监管对接)."""

"""Supervision without I/O: records, ordering, retry timing, regulator commands."""

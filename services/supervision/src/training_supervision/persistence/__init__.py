"""Supervision's tables."""

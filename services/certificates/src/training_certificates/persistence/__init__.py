"""Certificates' tables."""

"""Exams' tables."""

"""Exams' rules as pure Python: banks and their file format, blueprints, seeded papers, grading."""

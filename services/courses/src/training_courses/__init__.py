"""The courses service: syllabi, courses and their review, training classes, enrollments, quality."""

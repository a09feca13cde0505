"""The exams service: question banks, exam definitions, papers, attempts and grades."""

"""Repository-wide pytest set-up: fixture plugins shared by every service's tests.

The infrastructure fixtures (PostgreSQL, NATS) come from training_testkit's entry point; these add
services that other services' tests run against.
"""

pytest_plugins = [
    "training_identity.testing",
    "training_rulebook.testing",
    "training_courses.testing",
    "training_learning.testing",
    "training_exams.testing",
    "training_certificates.testing",
    "training_supervision.testing",
]

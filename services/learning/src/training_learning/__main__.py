"""`python -m training_learning [serve|migrate]`."""

from training_learning.service import MIGRATIONS, LearningService
from training_learning.settings import LearningSettings
from training_runtime.cli import main

if __name__ == "__main__":
    main(LearningService, LearningSettings, migrations=MIGRATIONS)

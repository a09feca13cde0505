"""`python -m training_exams [serve|migrate]`."""

from training_exams.service import MIGRATIONS, ExamsService
from training_exams.settings import ExamsSettings
from training_runtime.cli import main

if __name__ == "__main__":
    main(ExamsService, ExamsSettings, migrations=MIGRATIONS)

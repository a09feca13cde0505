"""`python -m training_courses [serve|migrate]`."""

from training_courses.service import MIGRATIONS, CoursesService
from training_courses.settings import CoursesSettings
from training_runtime.cli import main

if __name__ == "__main__":
    main(CoursesService, CoursesSettings, migrations=MIGRATIONS)

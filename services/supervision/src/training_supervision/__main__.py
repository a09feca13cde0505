"""`python -m training_supervision [serve|migrate]`."""

from training_runtime.cli import main
from training_supervision.service import MIGRATIONS, SupervisionService
from training_supervision.settings import SupervisionSettings

if __name__ == "__main__":
    main(SupervisionService, SupervisionSettings, migrations=MIGRATIONS)

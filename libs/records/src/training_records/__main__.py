"""`python -m training_records verify --service <name> [--chain X]`."""

import sys

from training_records.cli import main

if __name__ == "__main__":
    sys.exit(main())

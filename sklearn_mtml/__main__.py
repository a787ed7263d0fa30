"""``python -m sklearn_mtml``: the demo on bundled real data (see ``--help``)."""

import sys

from sklearn_mtml._demo import main

if __name__ == "__main__":
    sys.exit(main())

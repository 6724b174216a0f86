"""``python -m bayes_mfg.cli``: the ``bayes-mfg`` command line."""

import sys

from bayes_mfg.cli import main

sys.exit(main())

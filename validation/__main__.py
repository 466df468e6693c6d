"""python -m validation [--quick] [--out DIR] [--n-jobs N]"""

import sys

from .cli import main

sys.exit(main())

"""`python3 -m cloudsim ...`"""

import sys

from .cli import main

sys.exit(main())

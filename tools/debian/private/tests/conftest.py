"""Makes the programs in tools/debian/private importable by the tests.

They are scripts run by Bazel actions, not a package; the tests import them
as modules from the directory above this one.
"""

import sys
from pathlib import Path

PRIVATE = Path(__file__).parent.parent
if str(PRIVATE) not in sys.path:
    sys.path.insert(0, str(PRIVATE))

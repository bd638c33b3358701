"""`python -m testapp`: prints its greeting; waitress proves the third-party layer works."""

import waitress

from testapp.greeting import GREETING

print(GREETING, waitress.__name__)

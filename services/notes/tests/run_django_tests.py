"""Django's own test runner over test_board.py: `manage.py test`, under Bazel.

The runner makes its test database (SQLite in memory) and tears it down;
the exit status is the number of failures.
"""

import os
import sys

os.environ["DJANGO_SETTINGS_MODULE"] = "notes.settings"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import django
from django.conf import settings
from django.test.utils import get_runner

if __name__ == "__main__":
    django.setup()
    runner = get_runner(settings)(verbosity=2)
    sys.exit(bool(runner.run_tests(["test_board"])))

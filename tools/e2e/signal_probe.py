"""Prints "ready", then exits with 40 + the number of the first SIGTERM or SIGINT it gets.

For the README check (readme_check.py): the launcher must deliver the signal
once and return the program's own exit status.
"""

import signal
import sys
import time


def stop(signum: int, _frame: object) -> None:
    print(f"got {signal.Signals(signum).name}", flush=True)
    sys.exit(40 + signum)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
print("ready", flush=True)
time.sleep(600)

"""The one line testapp_v1 and testapp_v2 differ in."""

GREETING = "hello from v1"

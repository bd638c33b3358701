"""Django at build time: a project's static files, collected by a Bazel action.

    load("//tools/django:defs.bzl", "django_static")
"""

load("//tools/django/private:collectstatic.bzl", _django_static = "django_static")

django_static = _django_static

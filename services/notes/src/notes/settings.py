"""Django settings of the notes site, read from the environment (environment.py).

Production by default: DEBUG is off, cookies are secure, HSTS is on; what
differs between deployments comes from the environment, never from a file
in the image. `python -m notes check --deploy` passes
(//services/notes:check_deploy_test).
"""

import os
from pathlib import Path

from notes import environment

ENV = environment.load(os.environ)

# /app/notes in the images; services/notes/src/notes in `bazel run`'s runfiles.
# Not resolved: in the runfiles, the files are symlinks into the source tree.
PACKAGE_DIR = Path(os.path.abspath(__file__)).parent

SECRET_KEY = ENV.secret_key
DEBUG = ENV.debug
ALLOWED_HOSTS = list(ENV.allowed_hosts)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "notes.board",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files, before anything else reads the request (WhiteNoise's advice).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "notes.urls"
WSGI_APPLICATION = "notes.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite on a writable volume (NOTES_DATABASE): the image's root is
# read-only. One writer: the Deployment runs one replica (docs/deploy/).
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ENV.database,
        "OPTIONS": {
            # Wait for a lock (the migrate Job, another thread) instead of
            # failing at once with "database is locked".
            "timeout": 5,
            "transaction_mode": "IMMEDIATE",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files are collected at build time (//services/notes:static, a
# Bazel action running collectstatic) into their own image layer, at
# /app/static: beside the package, as in `bazel run`'s runfiles. WhiteNoise
# serves them, with the hashed names and the gzip files collectstatic made.
STATIC_URL = "/static/"
STATIC_ROOT = PACKAGE_DIR.parent / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# HTTPS ends at the ingress (docs/deploy/), which tells Django so; it also
# redirects http to https, so Django does not (security.W008 is silenced
# for that reason: the pod itself is spoken to over plain HTTP, by the
# ingress, the kubelet's probes and the smoke tests).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = False
SILENCED_SYSTEM_CHECKS = ["security.W008"]
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# Secure cookies, except for a developer's DEBUG run over http://localhost.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

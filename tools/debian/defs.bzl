"""Public API of the Debian-package rules (see extensions.bzl for the packages themselves)."""

load("//tools/debian/private:rules.bzl", _accounts = "accounts", _ca_bundle = "ca_bundle", _dpkg_status = "dpkg_status")

accounts = _accounts
ca_bundle = _ca_bundle
dpkg_status = _dpkg_status

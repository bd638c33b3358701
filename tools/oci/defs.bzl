"""Public API of the project's OCI rules, shaped like rules_oci's.

    load("//tools/oci:defs.bzl", "oci_image", "oci_image_index", "oci_layer", "oci_load", "oci_push", "py_image_layers")

Switching to rules_oci is meant to be a change of load statement for
oci_image, oci_image_index, oci_load and oci_push; see README.md here for
the differences.
"""

load("//tools/oci/private:image.bzl", _oci_image = "oci_image")
load("//tools/oci/private:image_index.bzl", _oci_image_index = "oci_image_index")
load("//tools/oci/private:layer.bzl", _oci_layer = "oci_layer")
load("//tools/oci/private:load.bzl", _oci_load = "oci_load")
load("//tools/oci/private:platform_image.bzl", _oci_platform_image = "oci_platform_image")
load("//tools/oci/private:providers.bzl", _OciImageInfo = "OciImageInfo")
load("//tools/oci/private:push.bzl", _oci_push = "oci_push")
load("//tools/oci/private:push_all.bzl", _oci_push_all = "oci_push_all")
load("//tools/oci/private:py_image_layers.bzl", _py_image_layers = "py_image_layers")
load("//tools/oci/private:tar_pyc.bzl", _tar_pyc = "tar_pyc")

# What an oci_image provides, for rules that check or wrap one (//tools/abi_check).
OciImageInfo = _OciImageInfo

oci_image = _oci_image
oci_image_index = _oci_image_index
oci_layer = _oci_layer
oci_load = _oci_load
oci_platform_image = _oci_platform_image
oci_push = _oci_push
oci_push_all = _oci_push_all
py_image_layers = _py_image_layers
tar_pyc = _tar_pyc

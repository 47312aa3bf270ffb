"""Builds the libkitsu wheel: the C library and the header it was built
from, bundled into libkitsu/_lib, with the pure-Python binding (ctypes).

From a checkout, `pip install ./bindings/python` builds the library with
cargo. scripts/wheel builds the portable wheel instead: it links the library
against glibc 2.17 with cargo-zigbuild and passes it here through
LIBKITSU_LIBRARY, with LIBKITSU_WHEEL_PLATFORM=manylinux2014_x86_64.

The version is Cargo.toml's (its one home). The wheel is tagged py3-none-<platform>: the library is
loaded with ctypes, so any CPython 3 on that platform takes it.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent.parent
#: The library's file name on each platform (the loader looks for the same).
LIBRARY_NAME = {"win32": "kitsu.dll", "darwin": "libkitsu.dylib"}.get(sys.platform, "libkitsu.so")


def cargo_version() -> str:
    manifest = CHECKOUT / "Cargo.toml"
    if not manifest.is_file():
        raise SystemExit(f"libkitsu: no Cargo.toml at {manifest}: build from a libkitsu checkout")
    return re.search(r'^version = "([^"]+)"', manifest.read_text(), re.M).group(1)


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "libkitsu" / "_lib"
        target.mkdir(parents=True, exist_ok=True)
        library = os.environ.get("LIBKITSU_LIBRARY")
        if library:
            source = Path(library)
        else:
            if shutil.which("cargo") is None:
                raise SystemExit(
                    "libkitsu: cargo is needed to build the library (https://rustup.rs); "
                    "or install a wheel (scripts/wheel), or set LIBKITSU_LIBRARY"
                )
            manifest = CHECKOUT / "Cargo.toml"
            subprocess.run(["cargo", "build", "--profile", "dist", "--lib", "--manifest-path", str(manifest)], check=True)
            target_dir = Path(os.environ.get("CARGO_TARGET_DIR", CHECKOUT / "target"))
            source = target_dir / "dist" / LIBRARY_NAME
        shutil.copy2(source, target / LIBRARY_NAME)
        header = Path(os.environ.get("LIBKITSU_HEADER", CHECKOUT / "include" / "kitsu.h"))
        shutil.copy2(header, target / "kitsu.h")


class PlatformWheel(bdist_wheel):
    """py3-none-<platform>: tied to the platform (the native library), not to a Python version."""

    def get_tag(self):
        platform = os.environ.get("LIBKITSU_WHEEL_PLATFORM") or sysconfig.get_platform().replace("-", "_").replace(".", "_")
        return "py3", "none", platform


class BinaryDistribution(Distribution):
    """The wheel holds a native library: never a pure-Python wheel."""

    def has_ext_modules(self):
        return True


setup(
    version=cargo_version(),
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel},
    distclass=BinaryDistribution,
)

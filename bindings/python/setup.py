"""Builds libkitsu.so with cargo (from the checkout this package sits in)
and bundles it, with the header it was built from, into libkitsu/_lib.

Set LIBKITSU_LIBRARY to a libkitsu.so you built to bundle that one instead.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent.parent


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "libkitsu" / "_lib"
        target.mkdir(parents=True, exist_ok=True)
        library = os.environ.get("LIBKITSU_LIBRARY")
        if library:
            source = Path(library)
        else:
            manifest = CHECKOUT / "Cargo.toml"
            if not manifest.is_file():
                raise SystemExit(
                    f"libkitsu: no Cargo.toml at {manifest}: install from a libkitsu checkout, "
                    "or set LIBKITSU_LIBRARY to a built libkitsu.so"
                )
            if shutil.which("cargo") is None:
                raise SystemExit("libkitsu: cargo is needed to build libkitsu.so (https://rustup.rs), or set LIBKITSU_LIBRARY")
            subprocess.run(["cargo", "build", "--release", "--lib", "--manifest-path", str(manifest)], check=True)
            target_dir = Path(os.environ.get("CARGO_TARGET_DIR", CHECKOUT / "target"))
            source = target_dir / "release" / "libkitsu.so"
        shutil.copy2(source, target / "libkitsu.so")
        header = Path(os.environ.get("LIBKITSU_HEADER", CHECKOUT / "include" / "kitsu.h"))
        shutil.copy2(header, target / "kitsu.h")


class BinaryDistribution(Distribution):
    """The wheel holds a native library: tag it for this platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPyWithLibrary}, distclass=BinaryDistribution)

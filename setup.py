"""Build the Cython hot paths in src/*.pyx as fastdispatch._<name>, and the
compiled layers (fastdispatch/_layers.py: request, dispatcher, server loop)
from their own .py, unchanged, as extension modules of the same names.

Compilation is optional: when Cython or a C compiler is missing, or a module
fails to build, the install still succeeds and fastdispatch runs on the
pure-Python twins in fastdispatch/_pure/ and the layers' source (it says so
on stderr).
"""
import glob
import os
import runpy
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


def _warn(msg):
    sys.stderr.write("fastdispatch: %s\n" % msg)


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed extension into a warning, not an error,
    and compiles on every core."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler at all
            _warn("C extensions not built (%s); using the pure-Python twins" % exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            _warn("extension %s not built (%s); its pure-Python twin is used" % (ext.name, exc))


def _layer_sources():
    """(module name, .py path) of each compiled layer."""
    names = runpy.run_path(os.path.join("fastdispatch", "_layers.py"))["COMPILED_LAYERS"]
    return [(name, os.path.join(*name.split(".")) + ".py") for name in names]


def _extensions():
    if os.environ.get("FASTDISPATCH_NO_EXTENSIONS") == "1":
        _warn("FASTDISPATCH_NO_EXTENSIONS=1: building no C extensions")
        return []
    sources = [("fastdispatch." + os.path.splitext(os.path.basename(src))[0], src)
               for src in sorted(glob.glob(os.path.join("src", "*.pyx")))]
    sources += _layer_sources()
    try:
        from Cython.Build import cythonize
    except ImportError:
        _warn("Cython is not installed; using the pure-Python twins")
        return []
    from setuptools import Extension

    built = []
    for name, src in sources:
        ext = Extension(name, [src], extra_compile_args=["-O2"])
        try:
            # one cythonize per module: a broken .pyx costs only its own module
            # (the C of a layer goes to build/, not beside its .py)
            built.extend(cythonize(
                [ext],
                # (".": fastdispatch/_http.pxd declares src/_http.pyx's type,
                # beside the layers that cimport it)
                include_path=["src", os.path.dirname(os.path.abspath(__file__))],
                build_dir=None if src.endswith(".pyx") else os.path.join("build", "cython"),
                compiler_directives={"language_level": "3"},
                annotate=os.environ.get("FASTDISPATCH_ANNOTATE") == "1",
                quiet=True,
            ))
        except Exception as exc:
            _warn("cythonize %s failed (%s); its pure-Python twin is used" % (src, exc))
    return built


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})

"""Build the Cython hot paths in src/*.pyx as fastdispatch._<name>.

Compilation is optional: when Cython or a C compiler is missing, or a module
fails to build, the install still succeeds and fastdispatch runs on the
pure-Python twins in fastdispatch/_pure/ (it says so on stderr).
"""
import glob
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


def _warn(msg):
    sys.stderr.write("fastdispatch: %s\n" % msg)


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed extension into a warning, not an error."""

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


def _extensions():
    if os.environ.get("FASTDISPATCH_NO_EXTENSIONS") == "1":
        _warn("FASTDISPATCH_NO_EXTENSIONS=1: building no C extensions")
        return []
    sources = sorted(glob.glob(os.path.join("src", "*.pyx")))
    if not sources:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        _warn("Cython is not installed; using the pure-Python twins")
        return []
    from setuptools import Extension

    built = []
    for src in sources:
        name = "fastdispatch." + os.path.splitext(os.path.basename(src))[0]
        ext = Extension(name, [src], extra_compile_args=["-O2"])
        try:
            # one cythonize per module: a broken .pyx costs only its own module
            built.extend(cythonize(
                [ext],
                include_path=["src"],
                compiler_directives={"language_level": "3"},
                annotate=os.environ.get("FASTDISPATCH_ANNOTATE") == "1",
                quiet=True,
            ))
        except Exception as exc:
            _warn("cythonize %s failed (%s); its pure-Python twin is used" % (src, exc))
    return built


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})

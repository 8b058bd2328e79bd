"""fastdispatch: mod_python's request-processing model without Apache."""
__version__ = "0.1.0"

from fastdispatch._speedups import EXTENSIONS  # noqa: E402

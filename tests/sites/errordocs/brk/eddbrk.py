"""The same handler as fail/eddfail.py, under its own module name."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../fail"))
from eddfail import handler  # noqa: E402,F401

"""Imported from its own directory; the handler is lib/hdshow.py's."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib"))
from hdshow import handler  # noqa: E402,F401

"""fldauthu's handlers under their own module name (no AuthType / no AuthName)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../authu"))
from fldauthu import authenhandler, handler  # noqa: E402,F401

"""The scenario language: what a TOML scenario may say, how it is read and checked, and the facts it
is written against (the model catalogue, what a submit may ask for, the built-in library).

Nothing here knows of HTTP or of a running server; everything above builds on it. Its public names
are the loader's (`loader.__all__`)."""

from .loader import *  # noqa: F403
from .loader import __all__ as __all__

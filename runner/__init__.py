"""runner: does this skill make Claude Code better at these tasks, and at what cost?"""

from runner._util.version import __version__

__all__ = ["__version__"]

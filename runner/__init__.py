"""runner: does this skill make Claude Code better at these tasks, and at what cost?"""

__version__ = "0.1.0"

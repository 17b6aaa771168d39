"""Record every event of every Claude Managed Agents session into an event log you own."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("session-recorder")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

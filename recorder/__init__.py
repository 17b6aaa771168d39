"""Record every event of every Claude Managed Agents session into an event log you own."""

from typing import Any


def __getattr__(name: str) -> Any:
    """``__version__``, read from the installed metadata on first use: ``importlib.metadata`` costs about 0.1 s,
    which every command (``--help`` included) would otherwise pay at start-up."""
    if name != "__version__":
        raise AttributeError(f"module 'recorder' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("session-recorder")
    except PackageNotFoundError:  # running from a source tree that is not installed
        found = "0.0.0+source"
    globals()["__version__"] = found
    return found

"""The one exception type that the command line turns into a one-line message."""


class ChaosganError(Exception):
    """A problem with the user's input or files: shown as ``error: <message>``, exit status 2."""

"""The one exception type that means "the user's input is wrong".

The CLI prints its message on one line and exits non-zero, with no traceback;
anything else that escapes is a bug in Burnwatch and keeps its traceback.
"""


class BurnwatchInputError(Exception):
    """Bad input: the message names the problem and its place (file, line, key, tenant)."""

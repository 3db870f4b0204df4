"""One exception type for bad user input: the CLI prints its message as one line and exits 2."""


class DQError(Exception):
    """Bad input or set-up; the message says what is wrong and how to fix it."""

"""A Python file with no spec class in it."""


def helper():
    return 1

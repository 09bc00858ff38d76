"""The one exception type the CLI turns into a clean message (no traceback)."""


class DifflabError(Exception):
    """A problem the user can fix: bad input, a bad setting, a missing file."""


def unknown_name(kind: str, name: str, valid) -> DifflabError:
    """The error for an option that is not one of a documented set of names."""
    names = ", ".join(sorted(valid))
    return DifflabError(f"unknown {kind} {name!r}; valid names: {names}")

"""The one exception type the CLI turns into a clean message (no traceback)."""
import inspect


class DifflabError(Exception):
    """A problem the user can fix: bad input, a bad setting, a missing file."""


def unknown_name(kind: str, name: str, valid) -> DifflabError:
    """The error for an option that is not one of a documented set of names."""
    names = ", ".join(sorted(valid))
    return DifflabError(f"unknown {kind} {name!r}; valid names: {names}")


def check_options(fn, options: dict, what: str, *args) -> None:
    """Refuse, before calling `fn(*args, **options)`, options its signature does not take: an
    unknown option is a one-line DifflabError that lists the valid ones, so that a TypeError
    raised later, inside `fn`, stays a bug with its traceback."""
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        valid = None
    else:
        valid = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)][len(args):]
        unknown = [k for k in options if k not in valid]
        if unknown:
            raise DifflabError(f"{what} takes no option {unknown[0]!r}; valid options: {', '.join(valid) or 'none'}")
    try:
        inspect.signature(fn).bind(*args, **options)
    except TypeError as e:
        raise DifflabError(f"{what}: {e}") from None


def call_checked(fn, what: str, *args, **options):
    """`fn(*args, **options)` after `check_options`."""
    check_options(fn, options, what, *args)
    return fn(*args, **options)

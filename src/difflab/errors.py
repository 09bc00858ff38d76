"""The one exception type the CLI turns into a clean message (no traceback)."""
import inspect


class DifflabError(Exception):
    """A problem the user can fix: bad input, a bad setting, a missing file."""


def unknown_name(kind: str, name: str, valid) -> DifflabError:
    """The error for an option that is not one of a documented set of names."""
    names = ", ".join(sorted(valid))
    return DifflabError(f"unknown {kind} {name!r}; valid names: {names}")


def check_options(fn, options, what: str, fixed=()) -> None:
    """Refuse options that `fn` (a function or a class) does not take, before it is called.

    The valid options are fn's parameters that can be passed by name, less `fixed` (those the
    caller passes itself). An unknown option, or a missing one that has no default, is a one-line
    DifflabError that names it and lists the valid ones; a callee with **kwargs takes any name.
    Calling fn afterwards needs no `except TypeError`, so a bug inside it keeps its traceback.
    """
    params = inspect.signature(fn).parameters.values()
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in fixed]
    valid = ", ".join(sorted(p.name for p in named)) or "none"
    if not any(p.kind == p.VAR_KEYWORD for p in params):
        unknown = sorted(set(options) - {p.name for p in named})
        if unknown:
            raise DifflabError(f"{what}: unknown option{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))}; "
                               f"valid options: {valid}")
    missing = [p.name for p in named if p.default is p.empty and p.name not in options]
    if missing:
        raise DifflabError(f"{what}: missing option{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}; "
                           f"valid options: {valid}")


def call_checked(fn, what: str, *args, **options):
    """`fn(*args, **options)` after `check_options`: the leading positional parameters are the
    caller's, the named ones the user's."""
    fixed = list(inspect.signature(fn).parameters)[:len(args)]
    check_options(fn, options, what, fixed=fixed)
    return fn(*args, **options)

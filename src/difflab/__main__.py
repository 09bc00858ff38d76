"""`python -m difflab` is the `difflab` command."""
from .cli import main

raise SystemExit(main())

"""`python -m otviz` is the same as the `otviz` command."""
from otviz.cli import main

if __name__ == "__main__":        # worker processes import this module too: they must not run the app
    raise SystemExit(main())

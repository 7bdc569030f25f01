"""`python -m otviz` is the same as the `otviz` command."""
from otviz.cli import main

raise SystemExit(main())

"""Entry point of the PyInstaller bundle: the same as the `otviz` command."""
import multiprocessing

from otviz.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()   # each tab's training runs in a process started from this launcher
    raise SystemExit(main())

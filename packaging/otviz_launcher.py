"""Entry point of the PyInstaller bundle: the same as the `otviz` command."""
import multiprocessing

from otviz.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()   # harmless when nothing forks; needed if a library spawns workers
    raise SystemExit(main())

#!/usr/bin/env bash
# Build the one-folder desktop bundle dist/otviz/ from a checkout with PyInstaller, lay out its desktop
# files (share/), and smoke-test it with `otviz --self-test`. See packaging/README.md.
#
#   packaging/build.sh            build, then run the bundle's self-test
#   packaging/build.sh --no-test  build only
#   PYTHON=/path/to/python packaging/build.sh   use that interpreter (its torch, Qt... are bundled)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
TEST=1
[[ "${1:-}" == "--no-test" ]] && TEST=0
cd "$ROOT"
start=$(date +%s)

# The bundle takes its libraries from this interpreter's environment: otviz's dependencies must be there.
if ! "$PY" -c "import PySide6, pyqtgraph, torch, numpy, scipy, sklearn, PIL, imageio_ffmpeg" 2>/dev/null; then
  echo "build.sh: otviz's dependencies are missing from $PY; install them first, e.g." >&2
  echo "  $PY -m pip install -e '.[packaging]'   (install a CPU-only torch first for a smaller bundle)" >&2
  exit 2
fi
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
  "$PY" -m pip install -q "pyinstaller>=6.3"
fi
"$PY" -c "import torch, PySide6, PyInstaller; print(f'building with Python {__import__(\"sys\").version.split()[0]}, '
           f'torch {torch.__version__}, PySide6 {PySide6.__version__}, PyInstaller {PyInstaller.__version__}')"

"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" "$ROOT/packaging/otviz.spec"

# Desktop integration next to the program: copy share/ into ~/.local/share (or /usr/local/share).
OUT="$ROOT/dist/otviz"
install -Dm644 packaging/otviz.desktop "$OUT/share/applications/otviz.desktop"
install -Dm644 packaging/io.github.otviz.metainfo.xml "$OUT/share/metainfo/io.github.otviz.metainfo.xml"
install -Dm644 resources/otviz.svg "$OUT/share/icons/hicolor/scalable/apps/io.github.otviz.svg"
for n in 16 24 32 48 64 128 256; do
  install -Dm644 "resources/otviz-$n.png" "$OUT/share/icons/hicolor/${n}x${n}/apps/io.github.otviz.png"
done

built=$(date +%s)
echo "built $OUT in $((built - start)) s: $(du -sh "$OUT" | cut -f1) on disk, $(find "$OUT" -type f | wc -l) files"

if [[ $TEST == 1 ]]; then
  QT_QPA_PLATFORM=offscreen "$OUT/otviz" --self-test
fi

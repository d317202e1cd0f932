#!/usr/bin/env bash
# Installs what edossier needs on a Debian machine (only what is missing) and the Python package in .venv.
# Usage: bash scripts/setup.sh [--test]   (--test also installs what the test suite needs)
set -euo pipefail
cd "$(dirname "$0")/.."

# tesserocr is built against the system's libtesseract (the same engine as the `tesseract` program and its
# language data), so the build needs its headers and a compiler. Ghostscript writes the archive packages' PDF/A
# volumes, with the sRGB profile it ships (libgs-common, installed with it).
APT_PACKAGES=(tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng fonts-wqy-microhei fonts-arphic-uming
              libtesseract-dev libleptonica-dev pkg-config g++ libsane1 ghostscript)
if [[ "${1:-}" == "--test" ]]; then
  # pdftotext; real PostgreSQL and Redis servers for the contract and fault tests; a real browser for the web pages
  # sane-utils and sane-airscan: the SANE test backend's tools and the real eSCL client the simulator is proven by
  APT_PACKAGES+=(poppler-utils postgresql redis-server chromium libjs-pdf sane-utils sane-airscan)
fi
if [[ "${1:-}" == "--bench" ]]; then
  APT_PACKAGES+=(ocrmypdf pngquant redis-server postgresql)   # the baselines; the servers distributed.py starts
fi

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv 2>/dev/null || {
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get install -y -qq python3-venv >/dev/null && "$PYTHON" -m venv .venv; }
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --no-binary tesserocr -e ".[test]"
# RapidOCR, the second OCR engine (ocr/rapid.py), with its models inside the wheel; its other requirements
# (onnxruntime, pyclipper, shapely, …) come with edossier's own. --no-deps: it asks for opencv-python, whose cv2
# would overwrite the opencv-python-headless that edossier and RapidOCR both use.
.venv/bin/python -m pip install -q --no-deps "rapidocr_onnxruntime==1.4.4"

#!/usr/bin/env bash
# Installs what tinymim needs on Debian 12 (run as root). Safe to run again.
set -euo pipefail
packages=(build-essential cmake ccache libeigen3-dev libboost-test-dev nlohmann-json3-dev libcli11-dev
          zlib1g-dev libpng-dev libturbojpeg0-dev libjpeg62-turbo-dev libopenblas-openmp-dev libbenchmark-dev
          gnuplot-nox dataset-fashion-mnist libopenmpi-dev openmpi-bin
          python3 ca-certificates)  # python3: CI's checks and scripts/install-mkl.sh (HTTPS to PyPI)
missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

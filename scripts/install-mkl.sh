#!/usr/bin/env bash
# Installs Intel oneMKL's BLAS for -DTINYMIM_BLAS=MKL into a folder (default /opt/mkl): lib/ with the LP64
# interface, the GNU OpenMP threading layer, the core and its CPU-specific kernels, and include/. It
# unpacks Intel's wheels from PyPI (fetched and checked by python3's standard library; nothing is installed
# into Python). Safe to run again. Then: cmake ... -DTINYMIM_BLAS=MKL -DTINYMIM_MKL_ROOT=/opt/mkl
set -euo pipefail
prefix=${1:-/opt/mkl}
version=${MKL_VERSION:-2026.2.0}
if [[ -f "$prefix/include/mkl_cblas.h" && -e "$prefix/lib/libmkl_core.so.3" ]]; then
  echo "oneMKL already in $prefix"
  exit 0
fi
command -v python3 > /dev/null || { echo "install-mkl.sh: needs python3 (its standard library fetches the wheels)" >&2; exit 1; }
work=$(mktemp -d)
stage=
trap 'rm -rf "$work" ${stage:+"$stage"}' EXIT  # the staging folder too, if a step fails before the rename
# Each wheel's address and sha256 from PyPI's JSON API; the download is checked against the digest.
python3 - "$work" "$version" mkl mkl-include <<'PY'
import hashlib, json, pathlib, sys, urllib.parse, urllib.request
work, version, names = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
for name in names:
    index = f"https://pypi.org/pypi/{name}/json"
    meta = json.load(urllib.request.urlopen(index, timeout=60))
    wheels = [u for u in meta["releases"].get(version, []) if u["filename"].endswith(".whl") and "manylinux" in u["filename"]
              and "x86_64" in u["filename"]]
    if not wheels:
        sys.exit(f"install-mkl.sh: PyPI has no manylinux x86_64 wheel of {name} {version}")
    w = wheels[0]
    data = urllib.request.urlopen(urllib.parse.urljoin(index, w["url"]), timeout=600).read()  # may be relative
    if hashlib.sha256(data).hexdigest() != w["digests"]["sha256"]:
        sys.exit(f"install-mkl.sh: {w['filename']}: sha256 does not match PyPI's")
    (work / w["filename"]).write_bytes(data)
    print(f"downloaded {w['filename']} ({len(data) >> 20} MiB)")
PY
mkdir -p "$work/unpacked"
for w in "$work"/*.whl; do python3 -m zipfile -e "$w" "$work/unpacked"; done
# Into a temporary folder beside the prefix first, then renamed: never a half-installed prefix.
mkdir -p "$(dirname "$prefix")"
stage=$(mktemp -d "$prefix.partial.XXXXXX")
mkdir -p "$stage/lib" "$stage/include"
# The BLAS needs: the interface, the GNU OpenMP layer, the core, and the kernels the core loads at run
# time for the CPU it finds (mkl_def, mc3, avx2, avx512, avx10); not the vector-math, ScaLAPACK or other
# threading layers (checked: the tests and the tool run without them).
for f in "$work"/unpacked/mkl-*.data/data/lib/libmkl_{intel_lp64,gnu_thread,core,def,mc3,avx2,avx512,avx10}.so.*; do
  if [[ -e "$f" ]]; then cp "$f" "$stage/lib/"; fi
done
cp -r "$work"/unpacked/mkl_include-*.data/data/include/. "$stage/include/"
[[ -e "$stage/lib/libmkl_core.so.3" && -f "$stage/include/mkl_cblas.h" ]] || {
  echo "install-mkl.sh: the wheels of oneMKL $version did not hold libmkl_core.so.3 and mkl_cblas.h" >&2
  exit 1; }
rm -rf "$prefix"
mv "$stage" "$prefix"
stage=
chmod 755 "$prefix"
echo "oneMKL $version in $prefix ($(du -sh "$prefix" | cut -f1))"

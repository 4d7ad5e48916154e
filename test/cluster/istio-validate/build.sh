#!/usr/bin/env bash
# Builds istio-validate (istiod's own validation of Istio objects, see main.go) once and caches it
# by its sources: ~/.cache/kubefork/istio-validate/<key>/istio-validate, <key> derived from
# go.mod, go.sum and main.go, so a change of any of them builds anew and the old cache stays
# untouched. Prints the binary's path on stdout (and nothing else); progress goes to stderr.
# Needs Go (the version go.mod names) and the Go module proxy. Cold: ~4 min on 2 idle cores
# (see ../README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
key=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)
root=${KUBEFORK_ISTIO_VALIDATE_CACHE:-$HOME/.cache/kubefork/istio-validate}
out="$root/$key"
bin="$out/istio-validate"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "istio-validate/build.sh: Go is required (go.dev/doc/install)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "building istio-validate into $out (first time only)" >&2
start=$(date +%s)
cd "$here"
go build -trimpath -ldflags='-s -w' -o "$tmp/istio-validate" .
mv "$tmp/istio-validate" "$bin"
echo "built in $(( $(date +%s) - start )) s" >&2
echo "$bin"

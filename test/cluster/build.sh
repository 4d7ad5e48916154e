#!/usr/bin/env bash
# Builds the real control plane used by `pnpm test:cluster` once and caches it by version:
#   ~/.cache/kubefork/cluster/<k8s version>-<key>/bin/{etcd,kube-apiserver,kube-controller-manager}
#   ~/.cache/kubefork/cluster/<k8s version>-<key>/crds/istio.yaml   (Istio's generated CRDs)
# <key> is derived from go.mod, go.sum and the Istio version, so a version bump builds anew and
# the old cache stays untouched. Prints that directory on stdout (and nothing else); progress
# goes to stderr.
# Needs Go (the version go.mod names) and the Go module proxy. Cold: ~15-25 min on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mod="$here/go"
# Istio's CRDs, never hand-written: the generated file of the Go module istio.io/api at this tag.
istio_api=v1.32.0
key=$( (cat "$mod/go.mod" "$mod/go.sum" "$mod/cmd/etcd/main.go"; echo "$istio_api") | sha256sum | cut -c1-12)
k8s=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$mod/go.mod")
root=${KUBEFORK_CLUSTER_CACHE:-$HOME/.cache/kubefork/cluster}
out="$root/$k8s-$key"
bin="$out/bin"
crds="$out/crds"
if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] && [ -x "$bin/etcd" ] \
  && [ -s "$crds/istio.yaml" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "build.sh: Go is required to build the control plane (go.dev/doc/install)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$mod"
if [ ! -s "$crds/istio.yaml" ]; then
  dir=$(go mod download -json "istio.io/api@$istio_api" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -s "$dir/kubernetes/customresourcedefinitions.gen.yaml" ] \
    || { echo "build.sh: istio.io/api@$istio_api has no kubernetes/customresourcedefinitions.gen.yaml" >&2; exit 1; }
  mkdir -p "$crds"
  cp "$dir/kubernetes/customresourcedefinitions.gen.yaml" "$crds/istio.yaml.tmp"
  mv "$crds/istio.yaml.tmp" "$crds/istio.yaml"
fi
if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] && [ -x "$bin/etcd" ]; then
  echo "$out"
  exit 0
fi
echo "building kube-apiserver, kube-controller-manager ($k8s) and etcd into $bin (first time only)" >&2
start=$(date +%s)
flags=(-trimpath -ldflags=-s\ -w)
go build "${flags[@]}" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build "${flags[@]}" -o "$tmp/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
go build "${flags[@]}" -o "$tmp/etcd" ./cmd/etcd
mkdir -p "$bin"
mv "$tmp"/kube-apiserver "$tmp"/kube-controller-manager "$tmp"/etcd "$bin"/
echo "built in $(( $(date +%s) - start )) s" >&2
echo "$out"

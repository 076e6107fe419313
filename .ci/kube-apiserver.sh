#!/usr/bin/env bash
# Builds the kube-apiserver the Kubernetes store's tests run against, once,
# into ${XDG_CACHE_HOME:-~/.cache}/tokenkeeper-kube/kube-apiserver-<version>.
# The version is the one internal/kubetest/apiserver/go.mod requires: a module
# of its own, so that k8s.io/kubernetes never enters tokenkeeper's go.mod. A
# warm run only compares the module's checksum with the one the binary was
# built from. About 6 minutes on two cores when cold; prints where it is.
#
# internal/kubetest finds the binary there; without it the tests that need an
# API server skip, naming this script.
set -euo pipefail
cd "$(dirname "$0")/../internal/kubetest/apiserver"

version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 } $1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2 }' go.mod | head -n 1)
if [ -z "$version" ]; then
  echo "no k8s.io/kubernetes requirement in internal/kubetest/apiserver/go.mod" >&2
  exit 1
fi
minor=${version#v*.}; minor=${minor%%.*}
major=${version#v}; major=${major%%.*}

cache=${XDG_CACHE_HOME:-$HOME/.cache}/tokenkeeper-kube
bin=$cache/kube-apiserver-$version
sum=$( { cat go.mod go.sum; go version; } | sha256sum | cut -c1-16)
if [ -x "$bin" ] && [ "$(cat "$bin.sum" 2>/dev/null)" = "$sum" ]; then
  echo "kube-apiserver $version: cached at $bin"
  exit 0
fi

mkdir -p "$cache"
echo "building kube-apiserver $version into $bin (once; several minutes)"
start=$(date +%s)
pkg=k8s.io/component-base/version
# The version variables make `kubectl version` and the discovery document
# report a real version: kubectl refuses a server that says v0.0.0.
CGO_ENABLED=0 nice go build -trimpath -o "$bin.tmp" \
  -ldflags "-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
  k8s.io/kubernetes/cmd/kube-apiserver
mv "$bin.tmp" "$bin"
echo "$sum" > "$bin.sum"
echo "built $bin in $(( $(date +%s) - start )) s"

#!/usr/bin/env bash
# A real Kubernetes API server for the k8s tests, built once from the Go module proxy and cached:
#   $INFERGATE_CACHE/bin/kube-apiserver  k8s.io/kubernetes v1.37.2 (wrapper module, staging replaces)
#   $INFERGATE_CACHE/bin/etcd            go.etcd.io/etcd/server/v3 v3.7.4
#   $INFERGATE_CACHE/bin/helm            helm.sh/helm/v3 v3.21.4 (renders deploy/helm in a test)
#   $INFERGATE_CACHE/crds/…              Gateway API v1.7.0 standard CRDs; Inference Extension CRDs
#                                        (v1.6.2: InferencePool v1; v1.4.0: v1alpha2 InferencePool,
#                                        InferenceObjective, InferenceModelRewrite; v0.5.1: InferenceModel;
#                                        v0.1.0: v1alpha1 InferencePool and InferenceModel), Istio's CRDs
#                                        (istio.io/api v1.32.0), Envoy Gateway's BackendTrafficPolicy
#                                        (github.com/envoyproxy/gateway v1.9.1)
# Idempotent: each piece is skipped when its cached copy has the right version. Only the binaries and
# the CRD files are kept; the Go module and build caches live in a temp dir removed on exit.
# Cold: ≈ 10 min on 2 cores (kube-apiserver is most of it); warm: < 1 s.
set -euo pipefail

KUBE_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.7.4
HELM_MODULE=helm.sh/helm/v3
HELM_VERSION=v3.21.4
GATEWAY_API_VERSION=v1.7.0
INFERENCE_EXT_VERSIONS=(v1.6.2 v1.4.0 v0.5.1 v0.1.0)
ISTIO_API_VERSION=v1.32.0
ENVOY_GATEWAY_VERSION=v1.9.1
CRD_SET="$GATEWAY_API_VERSION ${INFERENCE_EXT_VERSIONS[*]} istio-$ISTIO_API_VERSION eg-$ENVOY_GATEWAY_VERSION"

cache="${INFERGATE_CACHE:-$HOME/.cache/infergate}"
bin="$cache/bin"
crds="$cache/crds"
mkdir -p "$bin" "$crds"

# One stamp per piece: "<name> <version>" lines, written only after the piece is in place.
stamp="$cache/kube-versions.txt"
touch "$stamp"
have() { grep -qxF "$1 $2" "$stamp"; }
mark() { grep -vx "$1 .*" "$stamp" > "$stamp.tmp" || true; echo "$1 $2" >> "$stamp.tmp"; mv "$stamp.tmp" "$stamp"; }

need_any=0
have kube-apiserver "$KUBE_VERSION" && [ -x "$bin/kube-apiserver" ] || need_any=1
have etcd "$ETCD_VERSION" && [ -x "$bin/etcd" ] || need_any=1
have helm "$HELM_VERSION" && [ -x "$bin/helm" ] || need_any=1
have crds "$CRD_SET" || need_any=1
if [ "$need_any" = 0 ]; then
  echo "30-kube: kube-apiserver $KUBE_VERSION, etcd $ETCD_VERSION, helm $HELM_VERSION and CRDs are cached"
  exit 0
fi

if ! command -v go >/dev/null; then
  if [ -x /usr/local/go/bin/go ]; then export PATH="/usr/local/go/bin:$PATH"; else
    echo "30-kube: Go is needed to build kube-apiserver, etcd and helm" >&2; exit 1
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/infergate-kube.XXXXXX")
cleanup() { chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export GOPATH="$work/gopath" GOCACHE="$work/gocache" GOMODCACHE="$work/gopath/pkg/mod"
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

module_dir() { (cd "$work" && go mod download -json "$1@$2") | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p'; }

# --- CRDs --------------------------------------------------------------------------------------
if ! have crds "$CRD_SET"; then
  rm -rf "$crds.new" && mkdir -p "$crds.new"
  dir=$(module_dir sigs.k8s.io/gateway-api "$GATEWAY_API_VERSION")
  mkdir -p "$crds.new/gateway-api-$GATEWAY_API_VERSION"
  cp "$dir"/config/crd/standard/*.yaml "$crds.new/gateway-api-$GATEWAY_API_VERSION/"
  for v in "${INFERENCE_EXT_VERSIONS[@]}"; do
    dir=$(module_dir sigs.k8s.io/gateway-api-inference-extension "$v")
    mkdir -p "$crds.new/inference-extension-$v"
    cp "$dir"/config/crd/bases/*.yaml "$crds.new/inference-extension-$v/"
  done
  dir=$(module_dir istio.io/api "$ISTIO_API_VERSION")
  mkdir -p "$crds.new/istio-api-$ISTIO_API_VERSION"
  cp "$dir"/kubernetes/customresourcedefinitions.gen.yaml "$crds.new/istio-api-$ISTIO_API_VERSION/"
  dir=$(module_dir github.com/envoyproxy/gateway "$ENVOY_GATEWAY_VERSION")
  mkdir -p "$crds.new/envoy-gateway-$ENVOY_GATEWAY_VERSION"
  cp "$dir"/charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_backendtrafficpolicies.yaml \
    "$crds.new/envoy-gateway-$ENVOY_GATEWAY_VERSION/"
  chmod -R u+w "$crds.new"
  rm -rf "$crds" && mv "$crds.new" "$crds"
  mark crds "$CRD_SET"
  echo "30-kube: CRDs in $crds"
fi

# --- etcd --------------------------------------------------------------------------------------
if ! { have etcd "$ETCD_VERSION" && [ -x "$bin/etcd" ]; }; then
  m="$work/etcd" && mkdir -p "$m" && cd "$m"
  go mod init infergate.local/etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -trimpath -ldflags=-s -o "$bin/etcd.new" go.etcd.io/etcd/server/v3
  mv "$bin/etcd.new" "$bin/etcd"
  mark etcd "$ETCD_VERSION"
  echo "30-kube: etcd $ETCD_VERSION built"
fi

# --- kube-apiserver ----------------------------------------------------------------------------
if ! { have kube-apiserver "$KUBE_VERSION" && [ -x "$bin/kube-apiserver" ]; }; then
  m="$work/kube" && mkdir -p "$m" && cd "$m"
  go mod init infergate.local/kube >/dev/null 2>&1
  kdir=$(module_dir k8s.io/kubernetes "$KUBE_VERSION")
  # Every staging module kubernetes replaces with ./staging/src/k8s.io/X → the published v0.x tag.
  staging=$(sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/k8s\.io/.*#\1#p' "$kdir/go.mod" |
    grep -v -e sample-cli-plugin -e sample-controller | sort -u)
  [ -n "$staging" ] || { echo "30-kube: no staging modules found in kubernetes go.mod" >&2; exit 1; }
  for s in $staging; do go mod edit -replace "$s=$s@$STAGING_VERSION"; done
  go mod edit -require "k8s.io/kubernetes@$KUBE_VERSION"
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION"
  minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
  ld="-s"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  go build -trimpath -ldflags="$ld" -o "$bin/kube-apiserver.new" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$bin/kube-apiserver.new" "$bin/kube-apiserver"
  mark kube-apiserver "$KUBE_VERSION"
  echo "30-kube: kube-apiserver $KUBE_VERSION built"
fi

# --- helm --------------------------------------------------------------------------------------
if ! { have helm "$HELM_VERSION" && [ -x "$bin/helm" ]; }; then
  cd "$work"
  GOBIN="$work/gobin" go install -trimpath -ldflags=-s "$HELM_MODULE/cmd/helm@$HELM_VERSION"
  mv "$work/gobin/helm" "$bin/helm"
  mark helm "$HELM_VERSION"
  echo "30-kube: helm $HELM_VERSION built"
fi

#!/usr/bin/env bash
# End-to-end check of the kubefork controller on a real cluster with Istio.
#
# Needs: an existing kind or k3d cluster with Istio installed (`istioctl install --set
# profile=minimal -y` is enough), the current kubectl context pointing at it, docker, kubectl.
# It builds the controller image, loads it into the cluster, installs deploy/ (CRD, RBAC,
# Deployment) with that image, deploys two tiny echo services (a host and alice's fork of it)
# plus a client with a sidecar, and checks real routing through the Envoy sidecar:
#   1. without a header the host answers;
#   2. with `x-fork-identifier: alice`, or only a W3C baggage member, alice's fork answers;
#   3. a hand-edited VirtualService is restored;
#   4. deleting the VSConfig deletes the VirtualService and routing falls back to the host.
#
# Usage (from anywhere in the repository):
#   packages/controller/scripts/e2e-cluster.sh
# Environment:
#   IMAGE=kubefork-controller:e2e   image tag to build and load
#   SKIP_BUILD=1                    use IMAGE as it is (already loaded or pullable)
#   KEEP=1                          leave everything installed afterwards
#   TIMEOUT=180s                    timeout of each wait
#   FORCE=1                         run even though kubefork is installed already (the script
#                                   replaces that installation and, without KEEP=1, removes it)
set -euo pipefail

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
DEPLOY="$ROOT/packages/controller/deploy"
IMAGE=${IMAGE:-kubefork-controller:e2e}
TIMEOUT=${TIMEOUT:-180s}
NS=kubefork-e2e
WORK=$(mktemp -d)

log() { printf '\n==> %s\n' "$*"; }
fail() { printf 'e2e: FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "controller logs (last 50 lines)"
    kubectl -n kubefork-system logs deploy/kubefork-controller --tail=50 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" != 1 ]; then
    log "cleaning up (KEEP=1 keeps everything)"
    kubectl delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
    kubectl delete -k "$WORK" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

for tool in kubectl docker; do
  command -v "$tool" >/dev/null || fail "$tool is not on PATH"
done
CONTEXT=$(kubectl config current-context) || fail "no current kubectl context"
kubectl get crd virtualservices.networking.istio.io >/dev/null 2>&1 ||
  fail "Istio's VirtualService CRD is missing: install Istio first (istioctl install --set profile=minimal -y)"
# Removing the CRD afterwards removes every VSConfig in the cluster: never do that by surprise.
if kubectl get crd vsconfigs.kubefork.dev >/dev/null 2>&1 && [ "${FORCE:-0}" != 1 ]; then
  fail "kubefork is already installed on context \"$CONTEXT\"; this script installs and removes it. Rerun with FORCE=1 (and KEEP=1 to keep it)"
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building $IMAGE"
  docker build -f "$ROOT/packages/controller/Dockerfile" -t "$IMAGE" "$ROOT"
  case "$CONTEXT" in
    kind-*) kind load docker-image "$IMAGE" --name "${CONTEXT#kind-}" ;;
    k3d-*) k3d image import "$IMAGE" --cluster "${CONTEXT#k3d-}" ;;
    *) fail "context \"$CONTEXT\" is neither kind-* nor k3d-*: push $IMAGE somewhere the cluster can pull from and rerun with SKIP_BUILD=1" ;;
  esac
fi

log "installing the controller (deploy/ with image $IMAGE)"
cp -r "$DEPLOY" "$WORK/base"
cat >"$WORK/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [base]
images:
  - name: ghcr.io/kubefork/controller
    newName: ${IMAGE%:*}
    newTag: ${IMAGE##*:}
patches:
  - target: { kind: Deployment, name: kubefork-controller }
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/imagePullPolicy
        value: IfNotPresent
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --resync=10
EOF
kubectl apply -k "$WORK"
kubectl wait --for=condition=Established crd/vsconfigs.kubefork.dev --timeout="$TIMEOUT"
kubectl -n kubefork-system rollout status deploy/kubefork-controller --timeout="$TIMEOUT"

log "deploying echo services and a client in namespace $NS (sidecar injection on)"
kubectl apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels: { istio-injection: enabled }
---
$(for name in cart cart-alice; do cat <<ONE
apiVersion: apps/v1
kind: Deployment
metadata: { name: $name, namespace: $NS }
spec:
  selector: { matchLabels: { app: $name } }
  template:
    metadata: { labels: { app: $name } }
    spec:
      containers:
        - name: echo
          image: hashicorp/http-echo:0.2.3
          args: ["-text=$name", "-listen=:8080"]
          ports: [{ containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: $name, namespace: $NS }
spec:
  selector: { app: $name }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
ONE
done)
apiVersion: apps/v1
kind: Deployment
metadata: { name: client, namespace: $NS }
spec:
  selector: { matchLabels: { app: client } }
  template:
    metadata: { labels: { app: client } }
    spec:
      containers:
        - name: curl
          image: curlimages/curl:8.10.1
          command: ["sleep", "infinity"]
EOF
for name in cart cart-alice client; do
  kubectl -n "$NS" rollout status "deploy/$name" --timeout="$TIMEOUT"
done

# curl from the client pod (through its sidecar); prints the answering service's name.
ask() { kubectl -n "$NS" exec deploy/client -c curl -- curl -sS --max-time 5 "$@" http://cart/; }

# Retries until `ask ARGS` prints EXPECTED (routing config takes a moment to reach the sidecars).
expect_answer() {
  local expected=$1 got=''
  shift
  for _ in $(seq 1 60); do
    got=$(ask "$@" 2>/dev/null || true)
    [ "$got" = "$expected" ] && { echo "ok: curl $* -> $got"; return 0; }
    sleep 2
  done
  fail "curl $* answered \"$got\", expected \"$expected\""
}

log "baseline: no fork yet"
expect_answer cart
expect_answer cart -H 'x-fork-identifier: alice'

log "alice forks cart"
kubectl apply -f - <<EOF
apiVersion: kubefork.dev/v1beta1
kind: VSConfig
metadata: { name: cart-alice, namespace: $NS }
spec: { headerValue: alice, host: cart, service: cart-alice }
EOF
kubectl -n "$NS" wait --for=condition=Ready vsconfig/cart-alice --timeout="$TIMEOUT"
kubectl -n "$NS" get virtualservice cart -o yaml
expect_answer cart-alice -H 'x-fork-identifier: alice'
expect_answer cart-alice -H 'baggage: userid=7,x-fork-identifier=alice'
expect_answer cart -H 'x-fork-identifier: bob'
expect_answer cart

log "drift: a hand edit of the managed VirtualService is undone"
kubectl -n "$NS" patch virtualservice cart --type merge \
  -p '{"spec":{"http":[{"name":"hijack","route":[{"destination":{"host":"cart"}}]}]}}'
for _ in $(seq 1 30); do
  routes=$(kubectl -n "$NS" get virtualservice cart -o jsonpath='{.spec.http[*].name}')
  [ "$routes" = "kubefork-alice kubefork-alice-baggage default" ] && break
  sleep 1
done
[ "$routes" = "kubefork-alice kubefork-alice-baggage default" ] || fail "VirtualService not restored: routes \"$routes\""
echo "ok: restored ($routes)"
expect_answer cart-alice -H 'x-fork-identifier: alice'

log "alice's VSConfig deleted: the VirtualService goes, routing falls back"
kubectl -n "$NS" delete vsconfig cart-alice
kubectl -n "$NS" wait --for=delete virtualservice/cart --timeout="$TIMEOUT"
expect_answer cart -H 'x-fork-identifier: alice'

log "metrics"
kubectl -n kubefork-system exec deploy/kubefork-controller -- /nodejs/bin/node -e \
  "fetch('http://127.0.0.1:8080/metrics').then(r=>r.text()).then(t=>console.log(t.split('\n').filter(l=>l.startsWith('kubefork_')).join('\n')))" ||
  echo "(could not read metrics from the pod)"

log "e2e passed on context $CONTEXT"

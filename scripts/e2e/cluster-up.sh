#!/usr/bin/env bash
# Start a throwaway control plane on loopback: etcd, kube-apiserver and
# (optionally) kube-controller-manager, for the e2e suite or by hand.
#
#   scripts/e2e/cluster-up.sh STATE_DIR        # prints KUBECONFIG=... on success
#   scripts/e2e/cluster-down.sh STATE_DIR
#
# Env: K8S_BIN (default: what build-k8s.sh prints, building it on first use),
#      ETCD (default: etcd on PATH or /usr/bin/etcd),
#      ETCD_PORT, ETCD_PEER_PORT, APISERVER_PORT (default: free ports),
#      E2E_CONTROLLER_MANAGER=0 to skip kube-controller-manager,
#      E2E_START_TIMEOUT seconds per component (default 90).
# Everything listens on 127.0.0.1 only. Logs: STATE_DIR/logs/*.log.
# Exit 0 ready; 3 when a binary is missing (infrastructure: the suite skips);
# 1 when a component did not come up in time (log tails on stderr).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STATE=${1:?usage: cluster-up.sh STATE_DIR}
mkdir -p "$STATE/logs" "$STATE/pids"
STATE=$(cd "$STATE" && pwd)
TIMEOUT=${E2E_START_TIMEOUT:-90}
log() { echo "[cluster-up] $*" >&2; }
tails() { for f in "$STATE"/logs/*.log; do echo "--- tail $f" >&2; tail -n 25 "$f" >&2; done; }
fail() { log "FAILED: $*"; tails; "$HERE/cluster-down.sh" "$STATE" >&2 || true; exit 1; }
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

ETCD=${ETCD:-$(command -v etcd || echo /usr/bin/etcd)}
[[ -x $ETCD ]] || { log "etcd not found (Debian package etcd-server)"; exit 3; }
if [[ -z ${K8S_BIN:-} ]]; then K8S_BIN=$("$HERE/build-k8s.sh" | tail -n1) || { log "kube-apiserver unavailable"; exit 3; }; fi
[[ -x $K8S_BIN/kube-apiserver ]] || { log "no kube-apiserver in $K8S_BIN"; exit 3; }

# Proxies must never see loopback traffic (the apiserver calls the webhook).
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

"$HERE/certs.sh" "$STATE/pki" >/dev/null
PKI=$STATE/pki
ETCD_PORT=${ETCD_PORT:-$(free_port)}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-$(free_port)}
APISERVER_PORT=${APISERVER_PORT:-$(free_port)}

start() { # name cmd...
  local name=$1; shift
  ( exec "$@" ) >"$STATE/logs/$name.log" 2>&1 &
  echo $! > "$STATE/pids/$name.pid"
}
alive() { kill -0 "$(cat "$STATE/pids/$1.pid")" 2>/dev/null; }
wait_for() { # name what cmd...
  local name=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    alive "$name" || fail "$name exited while waiting for $what"
    (( $(date +%s) < deadline )) || fail "$name: no $what within ${TIMEOUT}s"
    sleep 0.5
  done
}

# etcd: data on tmpfs when available (fsync-bound otherwise).
DATA=$STATE/etcd-data
[[ -d /dev/shm && -w /dev/shm ]] && DATA=$(mktemp -d /dev/shm/kube-postrender-etcd.XXXXXX) && echo "$DATA" > "$STATE/etcd-data-dir"
start etcd "$ETCD" --name e2e --data-dir "$DATA" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER_PORT" --log-level warn
wait_for etcd "health on :$ETCD_PORT" curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
log "etcd ready on 127.0.0.1:$ETCD_PORT"

# The API server presents webhook-client.crt to webhooks (for `serve --client-ca`).
cat > "$STATE/webhook-kubeconfig.yaml" <<YAML
apiVersion: v1
kind: Config
users:
- name: "*"
  user:
    client-certificate: $PKI/webhook-client.crt
    client-key: $PKI/webhook-client.key
YAML
cat > "$STATE/admission-config.yaml" <<YAML
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: MutatingAdmissionWebhook
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: $STATE/webhook-kubeconfig.yaml
- name: ValidatingAdmissionWebhook
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: $STATE/webhook-kubeconfig.yaml
YAML

start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --insecure-port 0 --advertise-address 127.0.0.1 \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range 10.0.0.0/24 --endpoint-reconciler-type none \
  --authorization-mode AlwaysAllow \
  --disable-admission-plugins ServiceAccount \
  --admission-control-config-file "$STATE/admission-config.yaml" \
  --enable-priority-and-fairness=false --profiling=false --logtostderr -v 1

cat > "$STATE/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: e2e-admin
  user:
    client-certificate: $PKI/admin.crt
    client-key: $PKI/admin.key
contexts:
- name: e2e
  context: {cluster: e2e, user: e2e-admin, namespace: default}
current-context: e2e
YAML
chmod 600 "$STATE/kubeconfig"
ready() { [[ $(curl -sS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://127.0.0.1:$APISERVER_PORT/readyz") == ok ]]; }
wait_for kube-apiserver "/readyz on :$APISERVER_PORT" ready
log "kube-apiserver ready on 127.0.0.1:$APISERVER_PORT"

if [[ ${E2E_CONTROLLER_MANAGER:-1} != 0 && -x $K8S_BIN/kube-controller-manager ]]; then
  start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$STATE/kubeconfig" --leader-elect=false \
    --controllers deployment,replicaset,namespace,garbagecollector \
    --port 0 --secure-port 0 --use-service-account-credentials=false \
    --logtostderr -v 1
  sleep 1
  alive kube-controller-manager || fail "kube-controller-manager exited at start"
  log "kube-controller-manager started"
fi
{
  echo "KUBECONFIG=$STATE/kubeconfig"
  echo "APISERVER=https://127.0.0.1:$APISERVER_PORT"
  echo "PKI=$PKI"
} | tee "$STATE/env"

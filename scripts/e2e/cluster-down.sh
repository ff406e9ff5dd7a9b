#!/usr/bin/env bash
# Stop what cluster-up.sh started in STATE_DIR (by its recorded pids only).
set -uo pipefail
STATE=${1:?usage: cluster-down.sh STATE_DIR}
for name in kube-controller-manager kube-apiserver etcd; do
  f=$STATE/pids/$name.pid
  [[ -f $f ]] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
done
if [[ -f $STATE/etcd-data-dir ]]; then
  d=$(cat "$STATE/etcd-data-dir"); [[ $d == /dev/shm/kube-postrender-etcd.* ]] && rm -rf "$d"
  rm -f "$STATE/etcd-data-dir"
fi
exit 0

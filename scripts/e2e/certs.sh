#!/usr/bin/env bash
# Certificates for the e2e cluster and the webhook (openssl, all for 127.0.0.1).
#
#   scripts/e2e/certs.sh DIR
#
# Writes into DIR (idempotent: existing files are kept):
#   ca.{crt,key}              cluster CA: signs the apiserver's serving cert and client certs
#   apiserver.{crt,key}       kube-apiserver serving cert (127.0.0.1, localhost, kubernetes.default...)
#   admin.{crt,key}           client cert CN=e2e-admin O=system:masters (kubeconfig, controller-manager)
#   sa.{key,pub}              service account token signing key pair
#   webhook-ca.{crt,key}      CA of the webhook (its PEM is the webhook configs' caBundle)
#   webhook-1.{crt,key}       webhook serving cert #1 (127.0.0.1, localhost)
#   webhook-2.{crt,key}       webhook serving cert #2: same CA, new key (for rotation)
#   webhook-client.{crt,key}  client cert the API server presents to the webhook (for --client-ca),
#                             signed by webhook-ca
set -euo pipefail
DIR=${1:?usage: certs.sh DIR}
mkdir -p "$DIR"; chmod 700 "$DIR"; cd "$DIR"
DAYS=3650

ca() { # name cn
  [[ -f $1.crt ]] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days $DAYS -subj "/CN=$2" \
    -keyout "$1.key" -out "$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
leaf() { # name ca subject usage [san]
  [[ -f $1.crt ]] && return 0
  local ext; ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$4"
    [[ -n ${5:-} ]] && echo "subjectAltName=$5"
  } > "$ext"
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "$3" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -sha256 -days $DAYS -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial \
    -extfile "$ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$ext"
}

ca ca e2e-cluster-ca
leaf apiserver ca "/CN=kube-apiserver" serverAuth \
  "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
leaf admin ca "/O=system:masters/CN=e2e-admin" clientAuth
[[ -f sa.key ]] || { openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; }

ca webhook-ca e2e-webhook-ca
leaf webhook-1 webhook-ca "/CN=kube-postrender-webhook-1" serverAuth "IP:127.0.0.1,DNS:localhost"
leaf webhook-2 webhook-ca "/CN=kube-postrender-webhook-2" serverAuth "IP:127.0.0.1,DNS:localhost"
leaf webhook-client webhook-ca "/CN=kube-apiserver-webhook-client" clientAuth
chmod 600 ./*.key
echo "$DIR"

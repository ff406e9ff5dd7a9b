#!/usr/bin/env bash
# Regenerates the expected output of conformance cases with the real kustomize
# (`kubectl kustomize`, kustomize v5.5), never by hand:
#
#   scripts/gen-conformance-case.sh test/data/conformance/cases/3*-*
#
# Each case directory holds input.yaml, kustomization.yaml, case.txt and any
# bases/components in subdirectories. The case is copied to a temporary
# directory; wherever a kustomization of the copy lists `input.yaml` among its
# resources and has no such file, input.yaml is copied there (so an overlay
# case's base owns the input, as `run -c overlay` reads it). Then
# `kubectl kustomize` runs on the copy's top directory and writes:
#   expected.yaml          the objects it printed (exit 0),
#   expected-stderr.txt    its warnings, when it printed any,
#   expected-error.txt     exit code and message, when it refused the input
#                          (klog prefix and the case path normalised as the
#                          existing cases are).
# The kustomize tree fixture (test/data/kustomize-tree) is regenerated with
#   kubectl kustomize test/data/kustomize-tree/overlay > test/data/kustomize-tree/expected.yaml
set -euo pipefail
command -v kubectl >/dev/null || { echo "kubectl (with kustomize v5.5) is needed" >&2; exit 2; }
for case in "$@"; do
  case="${case%/}"
  [ -f "$case/kustomization.yaml" ] || { echo "skip $case: no kustomization.yaml" >&2; continue; }
  tmp="$(mktemp -d)"
  cp -r "$case/." "$tmp/"
  rm -f "$tmp/expected.yaml" "$tmp/expected-error.txt" "$tmp/expected-stderr.txt"
  while IFS= read -r k; do
    d="$(dirname "$k")"
    if [ "$d" != "$tmp" ] && grep -Eq '^- *input\.yaml *$|\[ *input\.yaml *\]' "$k" && [ ! -e "$d/input.yaml" ]; then
      cp "$tmp/input.yaml" "$d/input.yaml"
    fi
  done < <(find "$tmp" -mindepth 2 -name kustomization.yaml)
  rm -f "$case/expected.yaml" "$case/expected-error.txt" "$case/expected-stderr.txt"
  set +e
  kubectl kustomize "$tmp" >"$tmp/.out" 2>"$tmp/.err"
  code=$?
  set -e
  if [ "$code" -eq 0 ]; then
    cp "$tmp/.out" "$case/expected.yaml"
    [ -s "$tmp/.err" ] && cp "$tmp/.err" "$case/expected-stderr.txt"
  else
    norm="$(sed -E -e "s#$tmp#<CASE_DIR>#g" -e 's/^E[0-9]{4} [0-9:.]+ +[0-9]+ /EMMDD hh:mm:ss.uuuuuu PID /' "$tmp/.err")"
    msg="$(printf '%s\n' "$norm" | grep -v '^# Warning' | sed -e 's/^.*"command failed" err="//' -e 's/"$//')"
    {
      echo "exit code: $code"
      echo "--- error message ---"
      echo "${msg:-$norm}"
      echo "--- stderr (normalised: klog date/time/pid -> 'MMDD hh:mm:ss.uuuuuu PID', case dir -> <CASE_DIR>) ---"
      echo "$norm"
    } >"$case/expected-error.txt"
  fi
  rm -rf "$tmp"
  echo "$case: exit $code"
done

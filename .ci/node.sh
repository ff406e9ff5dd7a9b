# Sourced by .ci/run: puts Node $KPR_NODE_VERSION (default below, the version
# CI tests) first on PATH, installing it once from the npm registry's `node`
# package (which ships the official binary) into a cache outside the checkout.
# Refresh: change NODE_VERSION here and the Dockerfile's base together.
KPR_NODE_VERSION="${KPR_NODE_VERSION:-24.19.0}"
kpr_node_dir="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/kube-postrender/node-${KPR_NODE_VERSION}"
if [ "$("$kpr_node_dir/node_modules/node/bin/node" --version 2>/dev/null)" != "v${KPR_NODE_VERSION}" ]; then
  rm -rf "$kpr_node_dir.tmp"
  mkdir -p "$kpr_node_dir.tmp"
  npm install --prefix "$kpr_node_dir.tmp" --no-save --no-package-lock --no-audit --no-fund "node@${KPR_NODE_VERSION}"
  rm -rf "$kpr_node_dir"
  mv "$kpr_node_dir.tmp" "$kpr_node_dir"
fi
export PATH="$kpr_node_dir/node_modules/node/bin:$PATH"
echo "node $(node --version) ($(command -v node)), npm $(npm --version)"

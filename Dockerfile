# syntax=docker/dockerfile:1
# kube-postrender image: `kube-postrender serve` (the admission webhook) by default.
#   docker build -t kube-postrender:dev \
#     --build-arg VERSION=$(node -p 'require("./package.json").version') \
#     --build-arg REVISION=$(git rev-parse HEAD) --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
# Runs as a numeric non-root user and writes nothing outside /tmp, so it works
# with runAsNonRoot and readOnlyRootFilesystem. No HEALTHCHECK on purpose:
# Kubernetes probes /healthz and /readyz (see charts/kube-postrender).
#
# The base is pinned by digest: node:24-alpine as published on 2026-08-03
# (Node 24.19.0 on Alpine 3.24.1; the multi-platform index digest listed in
# docker-library/repo-info, repos/node/remote/24-alpine.md). CI tests the same
# Node version (.ci/node.sh). To refresh: `docker buildx imagetools inspect
# node:24-alpine` (or that repo-info page) gives the current index digest;
# update NODE_IMAGE, the org.opencontainers.image.base.* labels and
# KPR_NODE_VERSION in .ci/node.sh together (docs/install.md, "Building the image").
ARG NODE_IMAGE=node:24-alpine@sha256:d32cdf619f63fe0471182d08996dd516c6275bb5fd31ae06e55a570bd9e1ad43

# Build: compile TypeScript with the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: Node and the app, without npm/yarn.
FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="kube-postrender" \
      org.opencontainers.image.description="Helm post-rendering moved into the cluster: kustomize-exact transforms as a Kubernetes mutating admission webhook and a Helm post-renderer" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/kube-postrender/kube-postrender" \
      org.opencontainers.image.url="https://github.com/kube-postrender/kube-postrender" \
      org.opencontainers.image.documentation="https://github.com/kube-postrender/kube-postrender/tree/main/docs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-alpine" \
      org.opencontainers.image.base.digest="sha256:d32cdf619f63fe0471182d08996dd516c6275bb5fd31ae06e55a570bd9e1ad43"
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && mkdir -p /etc/kube-postrender/policies
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json plugin.yaml LICENSE ./
RUN chmod 0755 /app/dist/cli/main.js \
 && ln -s /app/dist/cli/main.js /usr/local/bin/kube-postrender
ENV NODE_ENV=production
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["kube-postrender"]
CMD ["serve", "--port", "8443", "-c", "/etc/kube-postrender/policies"]

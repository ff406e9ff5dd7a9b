# syntax=docker/dockerfile:1
# kube-postrender image: `kube-postrender serve` (the admission webhook) by default.
#   docker build -t kube-postrender .
# Runs as a numeric non-root user and writes nothing outside /tmp, so it works
# with runAsNonRoot and readOnlyRootFilesystem. No HEALTHCHECK on purpose:
# Kubernetes probes /healthz and /readyz (see charts/kube-postrender).
ARG NODE_VERSION=22

# Build: compile TypeScript with the dev dependencies.
FROM node:${NODE_VERSION}-alpine AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# Production dependencies only.
FROM node:${NODE_VERSION}-alpine AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: Node and the app, without npm/yarn.
FROM node:${NODE_VERSION}-alpine
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && mkdir -p /etc/kube-postrender/policies
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json plugin.yaml ./
RUN chmod 0755 /app/dist/cli/main.js \
 && ln -s /app/dist/cli/main.js /usr/local/bin/kube-postrender
ENV NODE_ENV=production
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["kube-postrender"]
CMD ["serve", "--port", "8443", "-c", "/etc/kube-postrender/policies"]

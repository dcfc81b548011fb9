# syntax=docker/dockerfile:1
# mcp-fed container image. Architecture-neutral: official multi-arch Node images, pure-JS dependencies
# (test/unit/dockerfile.test.ts checks package-lock.json), compiled JS only, so one command builds both
# platforms AgentCore Runtime and the usual hosts need:
#   docker buildx build --platform linux/arm64,linux/amd64 -t mcp-fed .
# The node image's major version can be chosen with --build-arg NODE_VERSION=22 (20 and later work).
ARG NODE_VERSION=24

# TypeScript → dist/. tsc's output is the same on every platform, so this stage runs on the build
# machine's own platform (no emulation) and its dev dependencies never reach the image.
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY upstreams ./upstreams
RUN npx tsc -p tsconfig.build.json

# Production dependencies only, installed for the target platform. No install scripts: none is needed,
# and none runs with network access here.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    MCP_FED_CONFIG=/app/config/container.yaml
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root config/container.yaml ./config/container.yaml
# The files stay root-owned and read-only to the process, which runs as the image's unprivileged user.
USER node
EXPOSE 8000
# Slim images have no curl: Node's own fetch probes the liveness route.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.MCP_FED_HEALTHCHECK_URL||'http://127.0.0.1:8000/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/src/main.js"]
# No --config here, so MCP_FED_CONFIG (the file above, or one mounted elsewhere) and MCP_FED_CONFIG_YAML
# (the config inline) decide; `serve --config FILE` still overrides both.
CMD ["serve"]

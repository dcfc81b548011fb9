# syntax=docker/dockerfile:1
# The federation lab's image for the auth samples (docker-compose.yml: auth-server, aws-tools, oauth-tools).
# They need two packages the product does not ship: oauth2-mock-server (the authorization server) and aws4
# (the upstream's independent SigV4 check) are dev dependencies, so the production image of the root
# Dockerfile, built with --omit=dev, cannot run them. Same layout as that image (/app/dist/upstreams/*.js),
# with the whole dependency tree. Lab only: never deploy it.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY upstreams ./upstreams
RUN npx tsc -p tsconfig.build.json

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
USER node
# docker-compose.yml names the sample: entrypoint [node, /app/dist/upstreams/<sample>.js].
ENTRYPOINT ["node"]

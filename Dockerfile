# syntax=docker/dockerfile:1.7
# One image, three roles chosen by command: the API (default), the worker and
# the processor emulators. The TypeScript is compiled in a build stage: Node's
# type stripping costs memory in every process (docs/decisions.md), which a
# 90 MB payments container cannot spare.
ARG NODE_IMAGE=node:24-alpine

# TypeScript 7's compiler is a native binary: build on glibc, run anywhere.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm install --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; none of them needs an install script.
# PGlite (the embedded database of `npm start` without DATABASE_URL) is left
# out: a container always gets DATABASE_URL (docs/decisions.md: what it saves).
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/@electric-sql node_modules/@types \
 && find node_modules \( -name '*.map' -o -name '*.md' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -type f -delete \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    NODE_OPTIONS=--max-semi-space-size=32
# The runtime starts `node` directly: npm and yarn go (docs/decisions.md).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY migrations ./migrations
# Files stay root-owned and read-only to the process; it runs as `node`. The payments
# journal's volume (PAYMENTS_JOURNAL_DIR) takes this directory's owner when first mounted.
RUN mkdir -p /var/lib/armazem/journal && chown node:node /var/lib/armazem/journal
USER node
EXPOSE 3000
ENTRYPOINT ["node"]
CMD ["dist/entrypoints/api.js"]

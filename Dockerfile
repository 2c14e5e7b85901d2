# The production image: compiled JavaScript and production dependencies only, run as a non-root
# user. test/image.test.ts lays out what the run stage contains (it reads the COPY and RUN lines
# below) and serves from it with the CMD below, so keep the two stages in the shape it expects.
#
#   docker build -t zerohour-chat .
#   docker run -p 8001:8001 -e MONGO_URL=mongodb://… -e SECRET_KEY="$(openssl rand -base64 48)" zerohour-chat
#
# Node 20.20.2 (the last Node 20 release) on Debian 12; pin the digest too when you first pull it.

FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/
COPY src/ src/
RUN npm run build

FROM node:20.20.2-bookworm-slim AS run
ENV NODE_ENV=production
WORKDIR /app
# No install scripts: no production dependency has one, and none may run unreviewed here.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# The server reads its SDL at run time (src/graphql/schema.ts: ../../schema/ from dist/graphql/).
COPY schema/ schema/
COPY --from=build /app/dist/ dist/
# The official image's `node` user, by number so that runAsNonRoot can check it. The files above
# stay root's: the server cannot change its own code.
USER 1000:1000
EXPOSE 8001
# Liveness only (the process serves); /readyz also asks the database, for load balancers.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8001) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains (src/main.ts): subscriptions end, sockets close with 1001, requests in flight
# finish, exit 0 within 10 s; give the container more than that before SIGKILL.
STOPSIGNAL SIGTERM
# package.json config.serverNodeFlags (the test checks they match). Node runs as PID 1 and handles
# SIGTERM itself; it starts no child processes when MONGO_URL is set.
CMD ["node", "--min-semi-space-size=32", "--max-semi-space-size=32", "dist/main.js"]

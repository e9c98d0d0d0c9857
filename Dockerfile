# syntax=docker/dockerfile:1
# Node 24: the newest LTS line shardflow is tested on (CI runs it), supported until April 2028; Node 22
# ends in April 2027 and Node 20 has ended. Newer AWS SDK releases need Node 22 or later.
# Build stage: full dependencies, compile TypeScript.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY cli cli
COPY coordinator coordinator
COPY worker worker
COPY shared shared
COPY generator generator
COPY bin bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

# Runtime stage: production dependencies and the compiled code only, as a non-root user. The local
# Kinesis (kinesis-local, a production dependency) is in it too: compose's `kinesis` service runs it.
FROM node:24-bookworm-slim
ENV NODE_ENV=production SHARDFLOW_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/bin bin
COPY config config
USER node
ENTRYPOINT ["node", "bin/shardflow.js"]
CMD ["worker"]

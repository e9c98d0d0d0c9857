# syntax=docker/dockerfile:1
# Build stage: full dependencies, compile TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY cli cli
COPY coordinator coordinator
COPY worker worker
COPY shared shared
COPY generator generator
COPY bin bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

# Runtime stage: production dependencies and the compiled code only, as a non-root user.
FROM node:20-bookworm-slim
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

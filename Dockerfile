# One image, one target per service. Deployment path (no Docker engine runs on the dev machines:
# keep this correct by reading, and by `docker compose config` where a client exists).
FROM node:20-bookworm-slim AS base
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH NODE_ENV=production
RUN corepack enable && corepack prepare pnpm@10.34.8 --activate
WORKDIR /app
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY packages/shared/package.json packages/shared/
COPY packages/cli/package.json packages/cli/
COPY services/fetcher/package.json services/fetcher/
COPY services/normalizer/package.json services/normalizer/
COPY services/aggregator/package.json services/aggregator/
COPY services/api/package.json services/api/
# tsx runs the TypeScript sources directly, so dev dependencies are part of the runtime image.
RUN pnpm install --frozen-lockfile --prod=false
COPY . .
USER node

FROM base AS migrate
CMD ["node", "--import", "tsx", "packages/cli/src/main.ts", "migrate"]

FROM base AS fetcher
EXPOSE 9101
CMD ["node", "--import", "tsx", "services/fetcher/src/main.ts"]

FROM base AS normalizer
EXPOSE 9102
# Semi-spaces of 4 MB on the main thread (parsing runs in a thread of its own, with its own heap):
# with the parse thread's small young generation, about 50 MB less at peak (README "Performance").
CMD ["node", "--max-semi-space-size=4", "--import", "tsx", "services/normalizer/src/main.ts"]

FROM base AS aggregator
EXPOSE 9103
CMD ["node", "--import", "tsx", "services/aggregator/src/main.ts"]

FROM base AS api
EXPOSE 9104
CMD ["node", "--import", "tsx", "services/api/src/main.ts"]

FROM base AS publisher
EXPOSE 8720
CMD ["node", "--import", "tsx", "services/fetcher/src/publisher/main.ts"]

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
# esbuild (a dev dependency) builds the bundles; they import the packages from node_modules and
# read seeds/ and migrations/ from the sources, so the whole tree stays in the image.
RUN pnpm install --frozen-lockfile --prod=false
COPY . .
# Each service and the CLI as one JavaScript file (`pnpm build`, scripts/build.ts): no TypeScript
# loader at run time, about 25 MB less per process than under tsx.
RUN pnpm build
USER node

FROM base AS migrate
CMD ["node", "packages/cli/dist/main.mjs", "migrate"]

FROM base AS fetcher
EXPOSE 9101
# The old generation grows by half of what survived the last full collection, not by up to four
# times over as V8 chooses, and a function is compiled to baseline code on its first call (the
# same for the three workers; scripts/bundles.ts says why).
CMD ["node", "--heap-growing-percent=50", "--always-sparkplug", "services/fetcher/dist/main.mjs"]

FROM base AS normalizer
EXPOSE 9102
# The old generation grows and functions tier up as the fetcher's do. Semi-spaces of 6 MB, the parse threads' as well
# (V8's flags are the process's): a parse's garbage dies young. glibc's malloc, kept to two arenas
# for the process's threads and told to unmap every freed block of 128 KB or more, keeps the peak
# under 300 MB all the same (README "Performance").
# The same flags and environment as scripts/bundles.ts (bundleArgs, bundleEnv), with which the
# bench and the tests run it.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
CMD ["node", "--heap-growing-percent=50", "--always-sparkplug", "--max-semi-space-size=6", "services/normalizer/dist/main.mjs"]

FROM base AS aggregator
EXPOSE 9103
CMD ["node", "--heap-growing-percent=50", "--always-sparkplug", "services/aggregator/dist/main.mjs"]

FROM base AS api
EXPOSE 9104
CMD ["node", "services/api/dist/main.mjs"]

FROM base AS publisher
EXPOSE 8720
CMD ["node", "services/fetcher/dist/publisher.mjs"]

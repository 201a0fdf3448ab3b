/** Public surface of the fetcher for the CLI (the operator's composition root) and tests. */
export { FetcherEnv } from './env';
export { createFetchDeps, type CreateFetchDepsOptions } from './deps';
export { createFetchWorker, fetchJobOptions, fetchBackoffDelay } from './worker';
export { enqueueSourceTick, startScheduler, tickOf } from './scheduler';
export { loadSources } from './sql/sources';
export { startPublisher, type Publisher, type Fault } from './publisher/server';
export { toRequestUrl, toRealUrl } from './url-map';
export { createGuard, FetchRefusedError } from './ssrf';
export { createPolitenessGate, readHostStates, type HostState } from './rate-limit';

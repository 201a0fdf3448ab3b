/** Public surface of the aggregator for the CLI (the operator's composition root) and tests. */
export { AggregatorEnv } from './env';
export { createAggregateWorker } from './worker';
export { aggregate, type AggregateDeps, type AggregateResult } from './jobs/aggregate-indicator';
export { computeSnapshot, inputDistricts, type TargetDef, type Vintage, type SnapshotValues } from './compute';

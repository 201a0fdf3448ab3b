// The entry of a parse thread (parse-pool.ts). Worker threads do not inherit tsx's loader hooks in
// Node 20, so this plain module registers them before loading the TypeScript thread.
import { register } from 'tsx/esm/api';

register();
await import('./parse-worker-thread.ts');

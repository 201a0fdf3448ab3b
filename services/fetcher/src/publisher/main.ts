/** The offline publisher as a process: `node services/fetcher/dist/publisher.mjs` after `pnpm build` (the Dockerfile's `publisher`). */
import { ConfigError } from '@nst/shared/errors';
import { readPublisherEnv } from './env';
import { startPublisher } from './server';

try {
  const env = readPublisherEnv();
  const publisher = await startPublisher({ port: env.NST_PUBLISHER_PORT, host: env.NST_PUBLISHER_HOST });
  console.log(JSON.stringify({ msg: 'offline publisher listening', url: publisher.url }));
  const stop = () => void publisher.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  process.stderr.write(`publisher: ${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
  process.exit(1);
}

/**
 * The CLI's connections, opened lazily so that `nst parse` needs neither server, and closed once
 * at the end of every command.
 */
import { createPool, type Pool } from '@nst/shared/db';
import { closeQueues, createQueues, type Queues } from '@nst/shared/jobs';
import { createRedis, waitForRedis } from '@nst/shared/redis';
import type { Redis } from 'ioredis';
import { NstError } from '@nst/shared/errors';
import type { CliEnv } from './env';

function unreachable(server: string, url: string, error: unknown): NstError {
  const parsed = new URL(url);
  const code = (error as { code?: string }).code ?? (error instanceof Error ? error.message : String(error));
  return new NstError(`${server.toLowerCase()}_unreachable`, `cannot reach ${server} at ${parsed.host}${server === 'PostgreSQL' ? parsed.pathname : ''} (${code})`);
}

export class CliContext {
  private poolInstance: Pool | undefined;
  private redisInstance: Redis | undefined;
  private queuesInstance: Queues | undefined;

  constructor(readonly env: CliEnv) {}

  /** The PostgreSQL pool, checked once so an unreachable server is one clear line. */
  async db(): Promise<Pool> {
    if (!this.poolInstance) {
      this.poolInstance = createPool(this.env.DATABASE_URL, { max: 4, applicationName: 'nst-cli' });
      await this.poolInstance.query('SELECT 1').catch((error: unknown) => {
        throw unreachable('PostgreSQL', this.env.DATABASE_URL, error);
      });
    }
    return this.poolInstance;
  }

  async redis(): Promise<Redis> {
    if (!this.redisInstance) {
      this.redisInstance = createRedis(this.env.REDIS_URL, { name: 'nst-cli' });
      // Swallow connection errors here: waitForRedis reports the first one as the command's failure.
      this.redisInstance.on('error', () => undefined);
      await waitForRedis(this.redisInstance).catch((error: unknown) => {
        throw unreachable('Redis', this.env.REDIS_URL, error);
      });
    }
    return this.redisInstance;
  }

  async queues(): Promise<Queues> {
    this.queuesInstance ??= createQueues({
      connection: await this.redis(),
      prefix: this.env.NST_QUEUE_PREFIX,
      failedRetentionSeconds: this.env.NST_FAILED_RETENTION_DAYS * 86_400,
    });
    return this.queuesInstance;
  }

  async close(): Promise<void> {
    if (this.queuesInstance) await closeQueues(this.queuesInstance).catch(() => undefined);
    this.redisInstance?.disconnect();
    await this.poolInstance?.end().catch(() => undefined);
  }
}

/**
 * The CLI's connections, opened lazily so that `nst parse` needs neither server, and closed once
 * at the end of every command.
 */
import { createPool, type Pool } from '@nst/shared/db';
import { closeQueues, createQueues, type Queues } from '@nst/shared/jobs';
import { createRedis, waitForRedis } from '@nst/shared/redis';
import type { Redis } from 'ioredis';
import type { CliEnv } from './env';

export class CliContext {
  private poolInstance: Pool | undefined;
  private redisInstance: Redis | undefined;
  private queuesInstance: Queues | undefined;

  constructor(readonly env: CliEnv) {}

  get pool(): Pool {
    this.poolInstance ??= createPool(this.env.DATABASE_URL, { max: 4, applicationName: 'nst-cli' });
    return this.poolInstance;
  }

  async redis(): Promise<Redis> {
    if (!this.redisInstance) {
      this.redisInstance = createRedis(this.env.REDIS_URL, { name: 'nst-cli' });
      // Swallow connection errors here: waitForRedis reports the first one as the command's failure.
      this.redisInstance.on('error', () => undefined);
      await waitForRedis(this.redisInstance);
    }
    return this.redisInstance;
  }

  async queues(): Promise<Queues> {
    this.queuesInstance ??= createQueues({ connection: await this.redis(), prefix: this.env.NST_QUEUE_PREFIX });
    return this.queuesInstance;
  }

  async close(): Promise<void> {
    if (this.queuesInstance) await closeQueues(this.queuesInstance).catch(() => undefined);
    this.redisInstance?.disconnect();
    await this.poolInstance?.end().catch(() => undefined);
  }
}

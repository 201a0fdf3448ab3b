import { Redis, type RedisOptions } from 'ioredis';

/** Options for {@link createRedis}. */
export interface RedisConnectionOptions {
  /**
   * `worker`: a long-lived blocking consumer; BullMQ requires `maxRetriesPerRequest: null` so a
   * Redis restart pauses the worker instead of failing its commands.
   * `producer`: enqueuers and CLI commands; they fail fast (no offline queue, one retry) so an
   * operator sees "Redis is down" at once instead of a hang. Default `producer`.
   */
  role?: 'worker' | 'producer';
  /** Connection name shown by `CLIENT LIST`. */
  name?: string;
}

export function createRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  const role = options.role ?? 'producer';
  const common: RedisOptions = {
    connectionName: options.name,
    connectTimeout: 5_000,
    lazyConnect: false,
  };
  const roleOptions: RedisOptions =
    role === 'worker'
      ? {
          maxRetriesPerRequest: null,
          enableReadyCheck: true,
          // Reconnect forever with a capped delay: workers outlive Redis restarts.
          retryStrategy: (times) => Math.min(times * 200, 5_000),
        }
      : {
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          // Producers give up after a few quick tries; the caller reports the error.
          retryStrategy: (times) => (times > 3 ? null : times * 100),
        };
  return new Redis(url, { ...common, ...roleOptions });
}

/** Resolves once the client is ready, rejects with the connection error otherwise. */
export async function waitForRedis(client: Redis, timeoutMs = 5_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('Redis connection closed'));
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
    };
    client.once('ready', onReady);
    client.once('error', onError);
    client.once('end', onEnd);
  });
}

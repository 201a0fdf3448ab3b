/**
 * `nst ops-ui`: Bull Board over the three queues, behind HTTP Basic authentication. Outside
 * development it refuses to start unless NST_OPS_USER and NST_OPS_PASSWORD are set to something
 * other than the development default.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { ConfigError } from '@nst/shared/errors';
import { QUEUE_NAMES, type Queues } from '@nst/shared/jobs';
import type { Register } from '../main';
import type { CliEnv } from '../env';

const DEV_DEFAULT = 'admin';

/** The credentials the UI accepts, or why it must not start. */
export function opsCredentials(env: Pick<CliEnv, 'NODE_ENV' | 'NST_OPS_USER' | 'NST_OPS_PASSWORD'>): { user: string; password: string } {
  const user = env.NST_OPS_USER ?? (env.NODE_ENV === 'development' ? DEV_DEFAULT : undefined);
  const password = env.NST_OPS_PASSWORD ?? (env.NODE_ENV === 'development' ? DEV_DEFAULT : undefined);
  if (env.NODE_ENV !== 'development' && (!user || !password || password === DEV_DEFAULT)) {
    throw new ConfigError(
      `refusing to start the ops UI with default or missing credentials outside development (NODE_ENV=${env.NODE_ENV}); set NST_OPS_USER and NST_OPS_PASSWORD`,
    );
  }
  return { user: user!, password: password! };
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function basicAuth(credentials: { user: string; password: string }) {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const [scheme, encoded] = header.split(' ');
    if (scheme === 'Basic' && encoded) {
      const decoded = Buffer.from(encoded, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0 && same(decoded.slice(0, colon), credentials.user) && same(decoded.slice(colon + 1), credentials.password)) return next();
    }
    res.set('WWW-Authenticate', 'Basic realm="nst ops", charset="UTF-8"').status(401).send('authentication required');
  };
}

export async function startOpsUi(queues: Queues, options: { host: string; port: number; credentials: { user: string; password: string } }): Promise<Server> {
  // Loaded here, not at the top: every command would pay for express and bull-board at start.
  const [{ createBullBoard }, { BullMQAdapter }, { ExpressAdapter }, { default: express }] = await Promise.all([
    import('@bull-board/api'), import('@bull-board/api/bullMQAdapter'), import('@bull-board/express'), import('express'),
  ]);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/');
  createBullBoard({ queues: QUEUE_NAMES.map((name) => new BullMQAdapter(queues[name])), serverAdapter });
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(basicAuth(options.credentials), serverAdapter.getRouter());
  return new Promise((resolve, reject) => {
    const server = app.listen(options.port, options.host, () => resolve(server));
    server.once('error', reject);
  });
}

export const registerOpsUi: Register = (program, context) => {
  program
    .command('ops-ui')
    .description('serve Bull Board (queues, jobs, retries) behind HTTP Basic auth until stopped')
    .option('--port <port>', 'port (default NST_OPS_PORT)')
    .action(async (options: { port?: string }) => {
      const ctx = context();
      const credentials = opsCredentials(ctx.env);
      const server = await startOpsUi(await ctx.queues(), {
        host: ctx.env.NST_OPS_HOST,
        port: options.port === undefined ? ctx.env.NST_OPS_PORT : Number(options.port),
        credentials,
      });
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      console.log(`ops UI listening on http://${ctx.env.NST_OPS_HOST}:${port}/`);
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
};

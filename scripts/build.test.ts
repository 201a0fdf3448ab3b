import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundleArgs, bundleEnv, PACKAGES, ROOT } from './bundles';

const relative = (args: readonly string[]) => args.map((arg) => arg.replace(ROOT, ''));

describe('what production runs is what pnpm build builds', () => {
  it('each Dockerfile target runs a bundle with the flags and environment the bench and the tests run it with', () => {
    const commands = [...readFileSync(`${ROOT}Dockerfile`, 'utf8').matchAll(/^FROM base AS (\S+)\n((?:.*\n)*?)CMD (\[.*\])$/gm)]
      .map(([, target, body, command]) => ({
        target,
        // `ENV A=1 B=2` lines of the target's stage (values without spaces or quotes).
        env: Object.fromEntries([...body!.matchAll(/^ENV (.+)$/gm)].flatMap(([, pairs]) => pairs!.trim().split(/\s+/).map((pair) => pair.split('=', 2) as [string, string]))),
        args: JSON.parse(command!) as string[],
      }));
    expect(commands.map((c) => c.target)).toEqual(['migrate', 'fetcher', 'normalizer', 'aggregator', 'api', 'publisher']);
    const sources: Record<string, string> = {
      migrate: 'packages/cli/src/main.ts',
      fetcher: 'services/fetcher/src/main.ts',
      normalizer: 'services/normalizer/src/main.ts',
      aggregator: 'services/aggregator/src/main.ts',
      api: 'services/api/src/main.ts',
      publisher: 'services/fetcher/src/publisher/main.ts',
    };
    for (const { target, env, args } of commands) {
      const expected = ['node', ...relative(bundleArgs(sources[target!]!)), ...(target === 'migrate' ? ['migrate'] : [])];
      expect(args, target).toEqual(expected);
      expect(env, target).toEqual(bundleEnv(sources[target!]!));
    }
  });

  it('the image builds the bundles from the sources it copied, before it runs anything', () => {
    const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
    const at = (pattern: RegExp) => dockerfile.search(pattern);
    expect(at(/^COPY \. \.$/m)).toBeGreaterThan(0);
    expect(at(/^RUN pnpm build$/m)).toBeGreaterThan(at(/^COPY \. \.$/m));
    expect(at(/^USER node$/m)).toBeGreaterThan(at(/^RUN pnpm build$/m));
    expect(at(/^FROM base AS /m)).toBeGreaterThan(at(/^USER node$/m));
    // Nothing but the CMDs above decides what a target runs.
    expect(dockerfile).not.toMatch(/^(?:ENTRYPOINT|ENV NODE_OPTIONS)/m);
  });

  it("each service's start script runs its bundle with the same flags and environment", () => {
    for (const { dir, entries } of PACKAGES) {
      if (!dir.startsWith('services/')) continue;
      const { scripts } = JSON.parse(readFileSync(`${ROOT}${dir}/package.json`, 'utf8')) as { scripts: Record<string, string> };
      const args = relative(bundleArgs(`${dir}/${entries.main}`)).map((arg) => arg.replace(`${dir}/`, ''));
      const env = Object.entries(bundleEnv(`${dir}/${entries.main}`)).map(([name, value]) => `${name}=${value}`);
      expect(scripts.start, dir).toBe([...env, 'node', ...args].join(' '));
    }
  });
});

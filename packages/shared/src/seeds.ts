/**
 * The seed files (`seeds/indicators.yaml`, `seeds/targets.yaml`, `seeds/sources.yaml`): loaded,
 * validated with zod (a bad entry is reported by file, key and field), and upserted idempotently.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import cron from 'node-cron';
import type pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { District, Scope, SourceFormat, Unit } from './domain';
import { ConfigError } from './errors';

export const SEEDS_DIR = fileURLToPath(new URL('../../../seeds/', import.meta.url));

const Key = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lower-case letters, digits, - or _');
const Regex = z.string().refine(
  (value) => {
    try {
      new RegExp(value);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not a valid regular expression' },
);

export const Indicator = z.object({
  code: z.string().regex(/^[a-z][a-z0-9_]*$/),
  name_zh: z.string().min(1),
  name_en: z.string().min(1),
  aliases: z.array(z.string().min(1)).default([]),
  unit: Unit,
  unit_mult: z.number().int().min(0).max(12).default(0),
  additive: z.boolean(),
  description: z.string().optional(),
});
export type Indicator = z.infer<typeof Indicator>;

export const Politeness = z.object({
  /**
   * Minimum milliseconds from the end of one request to the same host to the start of the next (from
   * its start, while requests overlap; of two sources of one host, the longer delay counts, and the
   * host's robots.txt `Crawl-delay` when longer, up to 60 s), across all replicas; 0 turns politeness
   * off for the source (no delay, and no limit of requests in flight), unless robots.txt asks for a delay.
   */
  minDelayMs: z.number().int().min(0).default(2000),
  /** Requests of the source in flight at once, across all replicas. */
  concurrency: z.number().int().min(1).max(16).default(1),
  /** Total timeout of one request. */
  timeoutMs: z.number().int().min(100).max(300_000).default(20_000),
  /** Largest body accepted, in bytes. */
  maxBytes: z.number().int().min(1024).max(200 * 1024 * 1024).default(10 * 1024 * 1024),
});
export type Politeness = z.infer<typeof Politeness>;

export const Discovery = z.object({
  /** Path pattern (regex on the URL's pathname) of the documents a list page links to. */
  links: Regex.optional(),
  /** Path pattern of further list pages (pagination). */
  pages: Regex.optional(),
  /** At most this many list pages are followed per run. */
  maxPages: z.number().int().min(1).max(100).default(5),
  /** At most this many link hops from the entry URL. */
  maxDepth: z.number().int().min(0).max(5).default(2),
});
export type Discovery = z.infer<typeof Discovery>;

export const Source = z.object({
  key: Key,
  name: z.string().min(1),
  publisher: z.string().min(1),
  district: District.optional(),
  format: SourceFormat,
  url: z
    .string()
    .url()
    .refine((value) => /^https?:$/.test(new URL(value).protocol), { message: 'must be an http(s) URL' }),
  schedule: z.string().refine((value) => cron.validate(value), { message: 'is not a valid cron expression' }),
  lang: z.enum(['zh', 'en']).default('zh'),
  enabled: z.boolean().default(true),
  politeness: Politeness.default(Politeness.parse({})),
  discovery: Discovery.default(Discovery.parse({})),
});
export type Source = z.infer<typeof Source>;

export const Target = z.object({
  key: Key,
  scope: Scope,
  indicator: z.string().min(1),
  kind: z.enum(['level', 'growth_above_city', 'share_of_city_increment', 'tracked']),
  value: z.number().optional(),
  unit: Unit,
  unit_mult: z.number().int().min(0).max(12).default(0),
  base_year: z.number().int().min(2000).max(2100),
  target_year: z.number().int().min(2000).max(2100),
  description_zh: z.string().min(1),
  description_en: z.string().min(1),
  source: z.string().min(1),
});
export type Target = z.infer<typeof Target>;

export const PlanRelease = z.object({
  key: Key,
  title_zh: z.string().min(1),
  title_en: z.string().min(1),
  issued_on: z.union([z.string(), z.date()]).transform((value) => (value instanceof Date ? value.toISOString().slice(0, 10) : value)),
  url: z.string().url().optional(),
  targets: z.array(z.unknown()),
});

export interface Seeds {
  indicators: Indicator[];
  sources: Source[];
  releases: Array<Omit<z.infer<typeof PlanRelease>, 'targets'> & { targets: Target[] }>;
}

function describeIssues(file: string, label: string, error: z.ZodError): string {
  return error.issues.map((issue) => `${file}: ${label}: ${issue.path.join('.') || '(entry)'} ${issue.message}`).join('; ');
}

/** Parse each entry of `entries` with `schema`, collecting every problem before throwing. */
function parseEntries<T extends z.ZodType>(
  file: string,
  kind: string,
  entries: unknown,
  schema: T,
  merge: (entry: Record<string, unknown>) => unknown = (entry) => entry,
): Array<z.infer<T>> {
  if (!Array.isArray(entries)) throw new ConfigError(`${file}: expected a list of ${kind}s`);
  const problems: string[] = [];
  const parsed: Array<z.infer<T>> = [];
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    const record = (entry ?? {}) as Record<string, unknown>;
    const label = `${kind} ${typeof record.key === 'string' ? `"${record.key}"` : typeof record.code === 'string' ? `"${record.code}"` : `#${index + 1}`}`;
    const result = schema.safeParse(merge(record));
    if (!result.success) {
      problems.push(describeIssues(file, label, result.error));
      return;
    }
    const id = String((result.data as { key?: string; code?: string }).key ?? (result.data as { code?: string }).code);
    if (seen.has(id)) problems.push(`${file}: ${label}: duplicate key`);
    seen.add(id);
    parsed.push(result.data);
  });
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return parsed;
}

async function readYaml(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot read (${(error as Error).message})`);
  }
  try {
    return (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`${path}: not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
}

/** Parse the sources registry document (already read from YAML). Exported for tests. */
export function parseSources(file: string, doc: Record<string, unknown>): Source[] {
  const defaults = (doc.defaults ?? {}) as Record<string, unknown>;
  return parseEntries(file, 'source', doc.sources, Source, (entry) => ({
    ...defaults,
    ...entry,
    politeness: { ...(defaults.politeness as object), ...(entry.politeness as object) },
    discovery: { ...(defaults.discovery as object), ...(entry.discovery as object) },
  }));
}

/** Load and validate all seed files from `dir` (default the project's `seeds/`). */
export async function loadSeeds(dir: string = SEEDS_DIR): Promise<Seeds> {
  const indicatorsFile = `${dir}/indicators.yaml`;
  const sourcesFile = `${dir}/sources.yaml`;
  const targetsFile = `${dir}/targets.yaml`;
  const indicators = parseEntries(indicatorsFile, 'indicator', (await readYaml(indicatorsFile)).indicators, Indicator);
  const sources = parseSources(sourcesFile, await readYaml(sourcesFile));
  const rawReleases = parseEntries(targetsFile, 'release', (await readYaml(targetsFile)).releases, PlanRelease);
  const codes = new Set(indicators.map((indicator) => indicator.code));
  const problems: string[] = [];
  const releases = rawReleases.map((release) => {
    const targets = parseEntries(targetsFile, `release "${release.key}" target`, release.targets, Target);
    for (const target of targets) {
      if (!codes.has(target.indicator)) problems.push(`${targetsFile}: target "${target.key}": indicator "${target.indicator}" is not in the catalog`);
      if (target.target_year <= target.base_year) problems.push(`${targetsFile}: target "${target.key}": target_year must be after base_year`);
      if (['level', 'share_of_city_increment'].includes(target.kind) && target.value === undefined) {
        problems.push(`${targetsFile}: target "${target.key}": value is required for kind ${target.kind}`);
      }
    }
    return { ...release, targets };
  });
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return { indicators, sources, releases };
}

export interface SeedResult {
  indicators: number;
  sources: number;
  targets: number;
  /** Rows inserted or changed; 0 when the database already matched the seed files. */
  changed: number;
}

/**
 * Upsert the seeds. Rows are only written when something differs (`IS DISTINCT FROM`), so a
 * second run changes nothing, not even a timestamp. Nothing is deleted: a source removed from the
 * file stays archived; disable it instead.
 */
export async function applySeeds(client: pg.Pool | pg.PoolClient, seeds: Seeds): Promise<SeedResult> {
  let changed = 0;
  for (const i of seeds.indicators) {
    const result = await client.query(
      `INSERT INTO core.indicator (code, name_zh, name_en, aliases, unit, unit_mult, additive, description)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (code) DO UPDATE SET
         name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, aliases = EXCLUDED.aliases, unit = EXCLUDED.unit,
         unit_mult = EXCLUDED.unit_mult, additive = EXCLUDED.additive, description = EXCLUDED.description
       WHERE (core.indicator.name_zh, core.indicator.name_en, core.indicator.aliases, core.indicator.unit,
              core.indicator.unit_mult, core.indicator.additive, core.indicator.description)
         IS DISTINCT FROM (EXCLUDED.name_zh, EXCLUDED.name_en, EXCLUDED.aliases, EXCLUDED.unit,
              EXCLUDED.unit_mult, EXCLUDED.additive, EXCLUDED.description)`,
      [i.code, i.name_zh, i.name_en, i.aliases, i.unit, i.unit_mult, i.additive, i.description ?? null],
    );
    changed += result.rowCount ?? 0;
  }
  for (const s of seeds.sources) {
    const result = await client.query(
      `INSERT INTO raw.source (key, name, publisher, district, format, url, schedule, lang, enabled, politeness, discovery)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (key) DO UPDATE SET
         name = EXCLUDED.name, publisher = EXCLUDED.publisher, district = EXCLUDED.district, format = EXCLUDED.format,
         url = EXCLUDED.url, schedule = EXCLUDED.schedule, lang = EXCLUDED.lang, enabled = EXCLUDED.enabled,
         politeness = EXCLUDED.politeness, discovery = EXCLUDED.discovery, updated_at = now()
       WHERE (raw.source.name, raw.source.publisher, raw.source.district, raw.source.format, raw.source.url,
              raw.source.schedule, raw.source.lang, raw.source.enabled, raw.source.politeness, raw.source.discovery)
         IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.publisher, EXCLUDED.district, EXCLUDED.format, EXCLUDED.url,
              EXCLUDED.schedule, EXCLUDED.lang, EXCLUDED.enabled, EXCLUDED.politeness, EXCLUDED.discovery)`,
      [s.key, s.name, s.publisher, s.district ?? null, s.format, s.url, s.schedule, s.lang, s.enabled,
        JSON.stringify(s.politeness), JSON.stringify(s.discovery)],
    );
    changed += result.rowCount ?? 0;
  }
  let targets = 0;
  for (const r of seeds.releases) {
    const result = await client.query(
      `INSERT INTO agg.plan_release (key, title_zh, title_en, issued_on, url) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (key) DO UPDATE SET title_zh = EXCLUDED.title_zh, title_en = EXCLUDED.title_en,
         issued_on = EXCLUDED.issued_on, url = EXCLUDED.url
       WHERE (agg.plan_release.title_zh, agg.plan_release.title_en, agg.plan_release.issued_on, agg.plan_release.url)
         IS DISTINCT FROM (EXCLUDED.title_zh, EXCLUDED.title_en, EXCLUDED.issued_on, EXCLUDED.url)`,
      [r.key, r.title_zh, r.title_en, r.issued_on, r.url ?? null],
    );
    changed += result.rowCount ?? 0;
    for (const t of r.targets) {
      targets += 1;
      const row = await client.query(
        `INSERT INTO agg.target (release, key, scope, indicator, kind, value, unit, unit_mult, base_year, target_year,
                                 description_zh, description_en, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (release, key) DO UPDATE SET scope = EXCLUDED.scope, indicator = EXCLUDED.indicator,
           kind = EXCLUDED.kind, value = EXCLUDED.value, unit = EXCLUDED.unit, unit_mult = EXCLUDED.unit_mult,
           base_year = EXCLUDED.base_year, target_year = EXCLUDED.target_year, description_zh = EXCLUDED.description_zh,
           description_en = EXCLUDED.description_en, source = EXCLUDED.source
         WHERE (agg.target.scope, agg.target.indicator, agg.target.kind, agg.target.value, agg.target.unit,
                agg.target.unit_mult, agg.target.base_year, agg.target.target_year, agg.target.description_zh,
                agg.target.description_en, agg.target.source)
           IS DISTINCT FROM (EXCLUDED.scope, EXCLUDED.indicator, EXCLUDED.kind, EXCLUDED.value, EXCLUDED.unit,
                EXCLUDED.unit_mult, EXCLUDED.base_year, EXCLUDED.target_year, EXCLUDED.description_zh,
                EXCLUDED.description_en, EXCLUDED.source)`,
        [r.key, t.key, t.scope, t.indicator, t.kind, t.value ?? null, t.unit, t.unit_mult, t.base_year, t.target_year,
          t.description_zh, t.description_en, t.source],
      );
      changed += row.rowCount ?? 0;
    }
  }
  return { indicators: seeds.indicators.length, sources: seeds.sources.length, targets, changed };
}

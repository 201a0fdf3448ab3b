/**
 * Request parameters: every route parses its query with a zod schema here, so a bad parameter is
 * a 400 whose message names it, and the same schema documents the parameter in /api/openapi.json.
 */
import { z } from 'zod';
import { ValidationError } from '@nst/shared/errors';
import { District, periodRange, type PeriodCode } from '@nst/shared/domain';

/** `2025-02-30` parses in JavaScript (as March 2nd): a date is valid only if it survives a round trip. */
function isCalendarDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/** Parse `query` with `schema`, or throw a {@link ValidationError} naming each bad parameter. */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const result = schema.safeParse(query ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    // An unknown parameter is reported by zod on the object itself, with the keys in `keys`.
    if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: unknown parameter`;
    return `${issue.path.join('.') || 'query'}: ${issue.message}`;
  });
  throw new ValidationError(`bad parameter: ${issues.join('; ')}`, issues);
}

/** A comma-separated list of values of `item` (`district=baoshan,jinshan`), at least one. */
export const listOf = <T extends z.ZodType<string>>(item: T, what: string) =>
  z
    .string()
    .transform((value, ctx) => {
      const parts = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
      if (parts.length === 0) {
        ctx.addIssue({ code: 'custom', message: `must name at least one ${what}` });
        return z.NEVER;
      }
      const parsed: Array<z.infer<T>> = [];
      for (const part of parts) {
        const result = item.safeParse(part);
        if (!result.success) {
          ctx.addIssue({ code: 'custom', message: `'${part}' ${result.error.issues[0]?.message ?? `is not a valid ${what}`}` });
          return z.NEVER;
        }
        parsed.push(result.data);
      }
      return [...new Set(parsed)];
    });

/** One district, with a message that lists the valid ones. */
export const DistrictParam = z.enum(District.options, { error: `must be one of ${District.options.join(', ')}` });

export const DistrictList = listOf(DistrictParam, 'district');

/** A catalog code (indicator, industry, area): lower-case snake_case. */
export const Code = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a lower-case code such as gdp or new_materials');

/**
 * A period bound: `2025`, `2025-H1`, `2025-Q3`, `2025-06` or a date `2025-06-30`. A figure sits
 * where its period ends (a year-to-date figure spans from January): `from` keeps periods ending on
 * or after the bound's first day, `to` those ending on or before its last day.
 */
export const PeriodBound = z
  .string()
  .regex(
    /^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]|H[12]|(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])))?$/,
    'must be a period (YYYY, YYYY-Hn, YYYY-Qn, YYYY-MM) or a date (YYYY-MM-DD)',
  )
  .refine((value) => value.length !== 10 || isCalendarDate(value), 'is not a calendar date');

/** First and last day of a {@link PeriodBound}. */
export function boundRange(bound: string): { start: string; end: string } {
  if (bound.length === 10) return { start: bound, end: bound };
  return periodRange(bound as PeriodCode, 'period');
}

/**
 * An instant: an ISO timestamp (`2026-04-05T09:00:00+08:00`, `…Z`) or a date. A date means what
 * was known by the end of that day in Shanghai (UTC+8), where the publishers are.
 */
export const Instant = z
  .string()
  .regex(
    // The zone's sign may arrive as a space: a `+` left unencoded in a query string decodes to one.
    /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+\- ]\d{2}:?\d{2}))?$/,
    'must be a date (YYYY-MM-DD) or an ISO timestamp with a zone (2026-04-05T09:00:00+08:00)',
  )
  .transform((value, ctx) => {
    const text = value.length === 10 ? `${value}T23:59:59.999+08:00` : `${value.slice(0, 10)}T${value.slice(11).replace(' ', '+')}`;
    const date = new Date(text);
    if (Number.isNaN(date.getTime()) || !isCalendarDate(value.slice(0, 10))) {
      ctx.addIssue({ code: 'custom', message: 'is not a valid date or time' });
      return z.NEVER;
    }
    return date;
  });

/** How a list is returned: JSON (default) or CSV. */
export const ResponseFormat = z.enum(['json', 'csv']);

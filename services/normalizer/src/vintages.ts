/**
 * Vintages from publications, ALFRED-style, independent of the order documents arrive in:
 * sort every publication of a figure by publication time; a figure published again unchanged
 * opens no vintage (the first publication keeps its provenance); a changed figure closes the
 * vintage in force and opens one. A figure quoted in the news only stands in until a statistic is
 * published: news after the first official publication is ignored.
 */

export interface Publication {
  id: number;
  value: string;
  status: string;
  publishedAt: Date;
  documentId: number;
  url: string;
}

export interface DerivedVintage<P extends Publication = Publication> {
  publication: P;
  validFrom: Date;
  validTo: Date | null;
}

/** `1725.00` and `1725` are the same figure; the published string is kept in raw_value. */
export function canonicalDecimal(value: string): string {
  // Most figures are printed canonically already (no leading zero, no trailing zero after the point).
  if (CANONICAL_DECIMAL.test(value)) return value;
  const negative = value.startsWith('-');
  let [whole = '0', fraction = ''] = value.replace(/^-/, '').split('.');
  whole = whole.replace(/^0+(?=\d)/, '');
  fraction = fraction.replace(/0+$/, '');
  const text = fraction ? `${whole}.${fraction}` : whole;
  return negative && text !== '0' ? `-${text}` : text;
}

/** What canonicalDecimal returns unchanged: no sign on zero, no leading zero, no trailing zero of a fraction. */
const CANONICAL_DECIMAL = /^(?!-0$)-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

const STATUS_RANK: Record<string, number> = { final: 0, provisional: 1, estimated: 2, news: 3 };

/**
 * Publications at the same instant: the official one wins over news, final over provisional, then
 * the smaller URL, then the older document — a total order, so the result never depends on timing.
 */
function compare(a: Publication, b: Publication): number {
  return (
    a.publishedAt.getTime() - b.publishedAt.getTime() ||
    (STATUS_RANK[a.status] ?? 9) - (STATUS_RANK[b.status] ?? 9) ||
    (a.url < b.url ? -1 : a.url > b.url ? 1 : 0) ||
    a.documentId - b.documentId
  );
}

export function deriveVintages<P extends Publication>(publications: readonly P[]): Array<DerivedVintage<P>> {
  const sorted = [...publications].sort(compare);
  const vintages: Array<DerivedVintage<P>> = [];
  let official = false;
  let lastInstant: number | undefined;
  for (const publication of sorted) {
    const instant = publication.publishedAt.getTime();
    if (instant === lastInstant) continue; // the preferred publication of this instant came first
    lastInstant = instant;
    if (publication.status === 'news' && official) continue;
    if (publication.status !== 'news') official = true;
    const last = vintages.at(-1);
    if (last && canonicalDecimal(last.publication.value) === canonicalDecimal(publication.value)) continue;
    if (last) last.validTo = publication.publishedAt;
    vintages.push({ publication, validFrom: publication.publishedAt, validTo: null });
  }
  return vintages;
}

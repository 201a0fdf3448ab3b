/**
 * Which district a page or a sentence speaks of. The source registry's district always wins;
 * these helpers are for city-wide sources (news portals, the city bureau's district tables).
 */
import { emptyList } from '@nst/shared/arrays';
import type { District } from '@nst/shared/domain';

const DISTRICT_WORDS: ReadonlyArray<{ district: District; pattern: RegExp }> = [
  { district: 'baoshan', pattern: /宝山|\bBaoshan\b/i },
  { district: 'jinshan', pattern: /金山|\bJinshan\b/i },
];

/**
 * The city itself: 上海市 / 全市 / 本市, or English "Shanghai's …", "Shanghai Municipality",
 * "the city" — Shanghai as a whole, not the "Shanghai" of "Shanghai University" or an address.
 */
const CITY_PATTERN = /上海市(?!宝山|金山)|全市|本市|\bShanghai's\b|\bShanghai Municipality\b|\bthe city(?:'s)?\b|\bcitywide\b/i;

/** The districts of DISTRICT_WORDS a text names, in their order (a list by @nst/shared/arrays: its readers are compiled for one kind of array). */
function namedDistricts(text: string): District[] {
  const named = emptyList<District>();
  for (const { pattern, district } of DISTRICT_WORDS) if (pattern.test(text)) named.push(district);
  return named;
}

/** Every district a text mentions, in a fixed order (baoshan, jinshan, shanghai). */
export function findDistricts(text: string): District[] {
  const found = namedDistricts(text);
  if (CITY_PATTERN.test(text)) found.push('shanghai');
  return found;
}

/**
 * The one district a page is about, from its title: a district name, else the city. Undefined
 * when the title names both districts or none.
 */
export function findPageDistrict(title: string): District | undefined {
  const districts = namedDistricts(title);
  if (districts.length === 1) return districts[0];
  if (districts.length === 0 && /上海|Shanghai/i.test(title)) return 'shanghai';
  return undefined;
}

/** A row label that is a district name (the city bureau's "各区" tables). */
export function districtOfLabel(label: string): District | undefined {
  const text = label.replace(/\s+/g, '');
  if (/^宝山(区)?$|^Baoshan( District)?$/i.test(text)) return 'baoshan';
  if (/^金山(区)?$|^Jinshan( District)?$/i.test(text)) return 'jinshan';
  if (/^(全市|上海市|上海|Shanghai)$/i.test(text)) return 'shanghai';
  return undefined;
}

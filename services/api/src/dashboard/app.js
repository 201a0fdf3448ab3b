/* global document, window, echarts */
/**
 * The dashboard: goal cards, GDP toward 4000 亿元, the industrial-output increment share against
 * 20%, year-to-date series and news, all read from the API. Every figure links to its archived
 * source document (/api/documents/<id>), with the publisher's URL beside it. Everything is built
 * with textContent, never innerHTML: titles and URLs come from other sites.
 */
import { GROUPS, LABELS } from './labels.js';

const DISTRICTS = ['baoshan', 'jinshan'];
const COLORS = { baoshan: '#2563eb', jinshan: '#059669', shanghai: '#7c3aed', combined: '#d97706' };
const GOAL_YEAR = 2025;

const state = {
  lang: initialLang(),
  data: null,
  charts: {},
  ytdIndicator: 'industrial_output',
  newsIndustry: '',
  newsArea: '',
};

function initialLang() {
  const asked = new URLSearchParams(window.location.search).get('lang');
  if (asked === 'zh' || asked === 'en') return asked;
  const saved = localStorage.getItem('nst-lang');
  return saved === 'en' ? 'en' : 'zh';
}

const t = (key) => LABELS[state.lang][key] ?? key;
const label = (group, code) => GROUPS[group]?.[state.lang]?.[code] ?? code;

// ── DOM helpers ───────────────────────────────────────────────────────────────────────────────

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'style') el.style.cssText = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof window.Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A figure linked to its archived source, with the publisher's URL as title and second link. */
function sourceLink(text, documentId, url, extra = {}) {
  const parts = [];
  if (documentId) {
    parts.push(h('a', { class: 'src', href: `/api/documents/${documentId}`, title: url, 'data-source-url': url, target: '_blank', rel: 'noopener', ...extra }, text));
  } else {
    parts.push(h('span', extra, text));
  }
  if (url) parts.push(h('a', { class: 'ext', href: url, title: `${t('publisher')}: ${url}`, target: '_blank', rel: 'noopener noreferrer' }, '↗'));
  return parts;
}

// ── numbers ───────────────────────────────────────────────────────────────────────────────────

const decimals = (text) => (String(text).split('.')[1] ?? '').length;

/** Add decimal strings without binary rounding noise (1987.45 + 1296.30 is 3283.75, exactly). */
function addDecimals(...values) {
  const places = Math.max(...values.map(decimals));
  const scale = 10 ** places;
  const sum = values.reduce((acc, v) => acc + Math.round(Number(v) * scale), 0);
  return (sum / scale).toFixed(places);
}

function subDecimals(a, b) {
  const places = Math.max(decimals(a), decimals(b));
  const scale = 10 ** places;
  return ((Math.round(Number(a) * scale) - Math.round(Number(b) * scale)) / scale).toFixed(places);
}

/** Display a published figure: as published (zh), with thousands separators (en). */
function formatNumber(value) {
  if (value === null || value === undefined || value === '') return '—';
  const text = String(value);
  if (state.lang === 'zh') return text;
  const [int, frac] = text.split('.');
  return `${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac !== undefined ? `.${frac}` : ''}`;
}

function unitLabel(unit, unitMult) {
  if (unit === 'pct') return '%';
  if (unit === 'pp') return t('pp');
  if (unit === 'CNY') return label('cny', String(unitMult));
  return '';
}

const withUnit = (value, unit, unitMult) => {
  if (value === null || value === undefined) return '—';
  const u = unitLabel(unit, unitMult);
  return u === '%' ? `${formatNumber(value)}%` : `${formatNumber(value)} ${u}`.trim();
};

/** Convert a figure to 亿元 (unit_mult 8), the scale the goals are stated in. */
const toYi = (value, unitMult) => Number(value) * 10 ** (unitMult - 8);

const formatDate = (iso) => (iso ? iso.slice(0, 10) : '—');

// ── data ──────────────────────────────────────────────────────────────────────────────────────

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

async function load() {
  const [progress, indicators, annual, ytd, news, sources] = await Promise.all([
    getJson('/api/progress'),
    getJson('/api/indicators'),
    getJson('/api/series?indicator=gdp,industrial_output&measure=level&accumulation=period&from=2021'),
    getJson('/api/series?measure=level&accumulation=ytd&district=baoshan,jinshan'),
    getJson('/api/news?limit=200'),
    getJson('/api/sources'),
  ]);
  return {
    progress: progress.items,
    indicators: new Map(indicators.items.map((i) => [i.code, i])),
    // Annual figures only (period code YYYY): the goals are stated per year.
    annual: annual.items.filter((r) => /^\d{4}$/.test(r.period)),
    ytd: ytd.items,
    news: news.items,
    sources: sources.items,
  };
}

// ── goal cards ────────────────────────────────────────────────────────────────────────────────

function statusBadge(status) {
  const key = status ?? 'insufficient_data';
  return h('span', { class: 'badge', 'data-status': key, style: `background: var(--${key})` }, label('status', key));
}

function inputLinks(item) {
  // The figures the actual was computed from: those of the actual's period first, else all.
  const ofPeriod = item.inputs.filter((i) => i.period === item.actual_period);
  const inputs = ofPeriod.length > 0 ? ofPeriod : item.inputs;
  // Inputs are in the indicator's unit (a level) or in percent (a growth rate), whatever the goal's unit.
  const indicator = state.data.indicators.get(item.indicator);
  const inputUnit = (input) => (input.measure === 'level' ? [indicator?.unit ?? item.unit, indicator?.unit_mult ?? item.unit_mult] : ['pct', 0]);
  return inputs.map((input) => [
    ...sourceLink(`${label('district', input.district)} ${input.period} · ${withUnit(input.value, ...inputUnit(input))}`,
      input.document_id, input.source_url, { 'data-figure': input.value }),
    ' ',
  ]);
}

function goalCard(item) {
  const desc = state.lang === 'zh' ? item.description_zh : item.description_en;
  const target =
    item.kind === 'growth_above_city'
      ? t('aboveCity')
      : item.target_value === null
        ? t('noGoalValue')
        : `${withUnit(item.target_value, item.unit, item.unit_mult)} · ${item.target_year}`;
  const progress = item.progress_pct === null ? null : Number(item.progress_pct);
  const detail = item.detail ?? {};
  const extra = [];
  if (item.kind === 'growth_above_city' && detail.cityAvgGrowthPct !== undefined) {
    extra.push(h('p', { class: 'meta' }, `${t('cityAverage')}: ${formatNumber(detail.cityAvgGrowthPct)}% · ${t('years')}: ${(detail.years ?? []).join(', ')}`));
  }
  if (item.cagr_realised_pct !== null) extra.push(h('p', { class: 'meta' }, `${t('cagr')}: ${formatNumber(item.cagr_realised_pct)}%`));
  if (item.gap !== null && item.kind !== 'growth_above_city') extra.push(h('p', { class: 'meta' }, `${t('gap')}: ${withUnit(item.gap, item.unit, item.unit_mult)}`));
  return h(
    'article',
    { class: 'card', 'data-target-key': item.target_key, 'data-actual': item.actual_value ?? '', 'data-progress': item.progress_pct ?? '', 'data-status': item.status ?? '' },
    h('div', { class: 'head' }, h('p', { class: 'desc' }, desc), statusBadge(item.status)),
    h('p', { class: 'actual' }, withUnit(item.actual_value, item.kind === 'growth_above_city' ? 'pct' : item.unit, item.unit_mult)),
    h('p', { class: 'meta' }, `${t('actual')} ${item.actual_period ?? '—'}${item.partial ? ` (${t('partial')})` : ''} · ${t('target')}: ${target}`),
    progress === null ? null : h('div', { class: 'bar', role: 'img', 'aria-label': `${t('progress')} ${progress}%` }, h('span', { style: `width: ${Math.min(100, Math.max(0, progress))}%` })),
    progress === null ? null : h('p', { class: 'meta' }, `${t('progress')}: ${formatNumber(item.progress_pct)}%`),
    ...extra,
    h('div', { class: 'sources' }, `${t('sources')}: `, ...inputLinks(item)),
  );
}

function renderGoals() {
  const goals = state.data.progress.filter((i) => i.target_year === GOAL_YEAR);
  document.getElementById('goal-cards').replaceChildren(...goals.filter((i) => i.kind !== 'tracked').map(goalCard));
  document.getElementById('tracked-cards').replaceChildren(...goals.filter((i) => i.kind === 'tracked').map(goalCard));
}

// ── charts ────────────────────────────────────────────────────────────────────────────────────

function chart(id) {
  if (!state.charts[id]) {
    state.charts[id] = echarts.init(document.getElementById(id), null, { renderer: 'canvas' });
    // A click on a figure opens its archived source document.
    state.charts[id].on('click', (event) => {
      const documentId = event.data?.documentId;
      if (documentId) window.open(`/api/documents/${documentId}`, '_blank', 'noopener');
    });
  }
  return state.charts[id];
}

const annualOf = (indicator, district) =>
  new Map(state.data.annual.filter((r) => r.indicator === indicator && r.district === district).map((r) => [Number(r.period), r]));

const point = (row) => (row ? { value: toYi(row.value, row.unit_mult), published: row.value, documentId: row.document_id, url: row.source_url } : null);

function renderGdp() {
  const byDistrict = Object.fromEntries(DISTRICTS.map((d) => [d, annualOf('gdp', d)]));
  const years = [...new Set(DISTRICTS.flatMap((d) => [...byDistrict[d].keys()]))].sort();
  const combined = years.map((y) => {
    const rows = DISTRICTS.map((d) => byDistrict[d].get(y));
    return rows.every(Boolean) ? addDecimals(...rows.map((r) => toYi(r.value, r.unit_mult).toFixed(decimals(r.value)))) : null;
  });
  const target = state.data.progress.find((i) => i.target_key === 'ns-gdp-4000');
  const targetValue = target ? toYi(target.target_value, target.unit_mult) : 4000;
  chart('chart-gdp').setOption(
    {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 60, right: 30, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: years.map(String) },
      yAxis: { type: 'value', name: label('cny', '8'), max: (v) => Math.max(v.max, targetValue) * 1.08 },
      series: [
        ...DISTRICTS.map((d) => ({
          id: d,
          name: label('district', d),
          type: 'bar',
          stack: 'gdp',
          itemStyle: { color: COLORS[d] },
          data: years.map((y) => point(byDistrict[d].get(y))),
        })),
        {
          id: 'combined',
          name: t('combined'),
          type: 'line',
          itemStyle: { color: COLORS.combined },
          label: { show: true, position: 'top', formatter: (p) => formatNumber(p.value) },
          data: combined.map((v) => (v === null ? null : Number(v))),
          markLine: {
            symbol: 'none',
            lineStyle: { color: '#b91c1c', type: 'dashed' },
            label: { position: 'insideStartTop', formatter: `${t('target')} ${formatNumber(String(targetValue))} ${label('cny', '8')}` },
            data: [{ yAxis: targetValue }],
          },
        },
      ],
    },
    true,
  );
  const table = document.getElementById('table-gdp');
  table.replaceChildren(
    h('thead', {}, h('tr', {}, h('th', {}, t('year')), ...DISTRICTS.map((d) => h('th', {}, label('district', d))), h('th', {}, t('combined')), h('th', {}, `${t('ofTarget')}`))),
    h('tbody', {}, years.map((y, i) => h('tr', { 'data-year': y },
      h('td', {}, String(y)),
      ...DISTRICTS.map((d) => {
        const row = byDistrict[d].get(y);
        return h('td', { 'data-district': d }, row ? sourceLink(formatNumber(row.value), row.document_id, row.source_url, { 'data-figure': row.value }) : '—');
      }),
      h('td', { 'data-combined': combined[i] ?? '' }, formatNumber(combined[i])),
      h('td', {}, combined[i] === null ? '—' : `${((Number(combined[i]) / targetValue) * 100).toFixed(2)}%`),
    ))),
  );
}

function renderShare() {
  const rows = { baoshan: annualOf('industrial_output', 'baoshan'), jinshan: annualOf('industrial_output', 'jinshan'), shanghai: annualOf('industrial_output', 'shanghai') };
  const target = state.data.progress.find((i) => i.target_key === 'ns-industrial-increment-share-20');
  const baseYear = target?.base_year ?? 2021;
  const thresholdPct = Number(target?.target_value ?? 20);
  const base = ['baoshan', 'jinshan', 'shanghai'].map((d) => rows[d].get(baseYear));
  const years = [...rows.shanghai.keys()].filter((y) => y > baseYear && ['baoshan', 'jinshan'].every((d) => rows[d].has(y))).sort();
  const points = base.every(Boolean)
    ? years.map((y) => {
        const [bs, js, sh] = ['baoshan', 'jinshan', 'shanghai'].map((d) => rows[d].get(y));
        const nsIncrease = subDecimals(addDecimals(bs.value, js.value), addDecimals(base[0].value, base[1].value));
        const cityIncrease = subDecimals(sh.value, base[2].value);
        // A share of a decrease means nothing: with no city growth the year has no share.
        const share = Number(cityIncrease) > 0 ? ((Number(nsIncrease) / Number(cityIncrease)) * 100).toFixed(2) : null;
        return { year: y, nsIncrease, cityIncrease, share, inputs: [bs, js, sh] };
      })
    : [];
  chart('chart-share').setOption(
    {
      tooltip: { trigger: 'axis', valueFormatter: (v) => `${v}%` },
      grid: { left: 50, right: 30, top: 30, bottom: 30 },
      xAxis: { type: 'category', data: points.map((p) => String(p.year)) },
      yAxis: { type: 'value', name: '%', max: (v) => Math.max(v.max, thresholdPct) * 1.15 },
      series: [
        {
          id: 'share',
          name: t('shareSeries'),
          type: 'bar',
          itemStyle: { color: COLORS.combined },
          label: { show: true, position: 'top', formatter: (p) => `${p.value}%` },
          // The bar of a year opens the city's figure of that year, the denominator of the share.
          data: points.map((p) => (p.share === null ? null : { value: Number(p.share), documentId: p.inputs[2].document_id, url: p.inputs[2].source_url })),
          markLine: {
            symbol: 'none',
            lineStyle: { color: '#b91c1c', type: 'dashed' },
            label: { position: 'insideStartTop', formatter: `${t('target')} ${thresholdPct}%` },
            data: [{ yAxis: thresholdPct }],
          },
        },
      ],
    },
    true,
  );
  document.getElementById('table-share').replaceChildren(
    h('thead', {}, h('tr', {}, h('th', {}, t('year')), h('th', {}, t('nsIncrease')), h('th', {}, t('cityIncrease')), h('th', {}, t('share')), h('th', {}, t('sources')))),
    h('tbody', {}, points.map((p) => h('tr', { 'data-year': p.year },
      h('td', {}, `${baseYear}–${p.year}`),
      h('td', {}, formatNumber(p.nsIncrease)),
      h('td', {}, formatNumber(p.cityIncrease)),
      h('td', { 'data-share': p.share ?? '' }, p.share === null ? t('noShare') : `${formatNumber(p.share)}%`),
      h('td', {}, [...base, ...p.inputs].flatMap((r) => [...sourceLink(`${label('district', r.district)} ${r.period}`, r.document_id, r.source_url, { 'data-figure': r.value }), ' '])),
    ))),
  );
}

function renderYtd() {
  const indicators = [...new Set(state.data.ytd.map((r) => r.indicator))].sort();
  if (!indicators.includes(state.ytdIndicator)) state.ytdIndicator = indicators[0] ?? '';
  const select = document.getElementById('ytd-indicator');
  select.replaceChildren(...indicators.map((code) => h('option', { value: code, selected: code === state.ytdIndicator }, indicatorName(code))));
  const rows = state.data.ytd.filter((r) => r.indicator === state.ytdIndicator);
  const periods = [...new Map(rows.map((r) => [r.period, r.period_end])).entries()].sort((a, b) => a[1].localeCompare(b[1])).map(([p]) => p);
  const unitMult = rows[0]?.unit_mult ?? 8;
  const byDistrict = Object.fromEntries(DISTRICTS.map((d) => [d, new Map(rows.filter((r) => r.district === d).map((r) => [r.period, r]))]));
  chart('chart-ytd').setOption(
    {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 60, right: 30, top: 40, bottom: 50 },
      xAxis: { type: 'category', data: periods },
      yAxis: { type: 'value', name: unitLabel(rows[0]?.unit ?? 'CNY', unitMult) },
      dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
      series: DISTRICTS.map((d) => ({
        id: d,
        name: label('district', d),
        type: 'line',
        connectNulls: false,
        itemStyle: { color: COLORS[d] },
        data: periods.map((p) => {
          const row = byDistrict[d].get(p);
          return row ? { value: Number(row.value), published: row.value, documentId: row.document_id, url: row.source_url } : null;
        }),
      })),
    },
    true,
  );
  // The latest figure of each district, each linked to its source.
  document.getElementById('table-ytd').replaceChildren(
    h('thead', {}, h('tr', {}, h('th', {}, t('district')), h('th', {}, t('latestPeriod')), h('th', {}, t('value')), h('th', {}, t('status')))),
    h('tbody', {}, DISTRICTS.map((d) => {
      const latest = [...byDistrict[d].values()].sort((a, b) => b.period_end.localeCompare(a.period_end))[0];
      return h('tr', { 'data-district': d },
        h('td', {}, label('district', d)),
        h('td', {}, latest?.period ?? '—'),
        h('td', {}, latest ? sourceLink(withUnit(latest.value, latest.unit, latest.unit_mult), latest.document_id, latest.source_url, { 'data-figure': latest.value }) : '—'),
        h('td', {}, latest ? label('obsStatus', latest.status) : '—'));
    })),
  );
}

function indicatorName(code) {
  const indicator = state.data.indicators.get(code);
  if (!indicator) return code;
  return state.lang === 'zh' ? indicator.name_zh : indicator.name_en;
}

// ── news and sources ──────────────────────────────────────────────────────────────────────────

function renderNews() {
  const news = state.data.news;
  const industries = [...new Set(news.flatMap((n) => n.industries))].sort();
  const areas = [...new Set(news.flatMap((n) => n.areas))].sort();
  const options = (values, group, selected) => [
    h('option', { value: '', selected: selected === '' }, t('all')),
    ...values.map((v) => h('option', { value: v, selected: v === selected }, label(group, v))),
  ];
  document.getElementById('news-industry').replaceChildren(...options(industries, 'industry', state.newsIndustry));
  document.getElementById('news-area').replaceChildren(...options(areas, 'area', state.newsArea));
  const matching = news.filter(
    (n) => (!state.newsIndustry || n.industries.includes(state.newsIndustry)) && (!state.newsArea || n.areas.includes(state.newsArea)),
  );
  document.getElementById('news-lists').replaceChildren(
    ...DISTRICTS.map((d) => {
      const items = matching.filter((n) => n.districts.includes(d)).slice(0, 8);
      return h('div', { 'data-district': d },
        h('h3', {}, label('district', d)),
        items.length === 0
          ? h('p', { class: 'empty' }, t('noNews'))
          : h('ul', {}, items.map((n) => h('li', { 'data-news-id': n.id },
              h('time', { datetime: n.published_at ?? '' }, formatDate(n.published_at)),
              ...sourceLink(n.title, n.document_id, n.source_url),
              h('div', {}, [...n.industries.map((i) => h('span', { class: 'tag' }, label('industry', i))), ...n.areas.map((a) => h('span', { class: 'tag' }, label('area', a)))]),
            ))));
    }),
  );
}

function renderSources() {
  document.getElementById('table-sources').replaceChildren(
    h('thead', {}, h('tr', {}, h('th', {}, t('source')), h('th', {}, t('lastFetch')), h('th', {}, t('outcome')), h('th', {}, t('documents')))),
    h('tbody', {}, state.data.sources.map((s) => h('tr', { 'data-source': s.key },
      h('td', {}, h('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer', title: s.url }, s.name)),
      h('td', {}, s.last_fetch_at ? s.last_fetch_at.slice(0, 16).replace('T', ' ') : '—'),
      h('td', {}, s.last_outcome ? `${label('outcome', s.last_outcome)}${s.last_http_status ? ` (${s.last_http_status})` : ''}` : '—'),
      h('td', {}, String(s.documents)),
    ))),
  );
}

// ── page ──────────────────────────────────────────────────────────────────────────────────────

function renderText() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const button of document.querySelectorAll('.lang button')) button.setAttribute('aria-pressed', String(button.dataset.lang === state.lang));
  const computed = state.data?.progress.map((i) => i.known_from).filter(Boolean).sort().pop();
  document.getElementById('as-of').textContent = computed ? `${t('knownFrom')}: ${formatDate(computed)}` : '';
}

function render() {
  renderText();
  if (!state.data) return;
  renderGoals();
  renderGdp();
  renderShare();
  renderYtd();
  renderNews();
  renderSources();
}

function wire() {
  for (const button of document.querySelectorAll('.lang button')) {
    button.addEventListener('click', () => {
      state.lang = button.dataset.lang;
      localStorage.setItem('nst-lang', state.lang);
      render();
    });
  }
  document.getElementById('ytd-indicator').addEventListener('change', (event) => {
    state.ytdIndicator = event.target.value;
    renderYtd();
  });
  document.getElementById('news-industry').addEventListener('change', (event) => {
    state.newsIndustry = event.target.value;
    renderNews();
  });
  document.getElementById('news-area').addEventListener('change', (event) => {
    state.newsArea = event.target.value;
    renderNews();
  });
  window.addEventListener('resize', () => Object.values(state.charts).forEach((c) => c.resize()));
}

async function start() {
  wire();
  renderText();
  try {
    state.data = await load();
    render();
    document.body.dataset.ready = 'true';
  } catch (error) {
    const box = document.getElementById('error');
    box.hidden = false;
    box.textContent = `${t('loadFailed')}: ${error.message}`;
    document.body.dataset.ready = 'error';
  }
}

void start();

/**
 * The synthetic site of the pipeline benchmark, served from memory by the offline publisher
 * (`startPublisher({ extraFiles })`) under the host `bench.nst.test`.
 *
 * N list pages × 20 article pages. Every article is a district's monthly table of main economic
 * indicators (主要经济指标) in the layout of the district pages in seeds/fixtures/sites, so the real
 * stats-table parser reads it: 当月 / 累计 / 累计增长 columns, the catalog's labels, one row the
 * catalog does not know (a reject), notes and indicator explanations bringing it to about 20 KB.
 * Article k is district k mod 3 and a month of its own (February–December of 2025 back to 1990;
 * beyond that, revised tables of the same months), so figures land on keys of their own; half the
 * articles (and list pages) are GBK.
 *
 * The pages are split into sources of at most 50 list pages each (discovery.maxPages is at most
 * 100): each source's entry page links to its other list pages, which are fetched at depth 1.
 * Politeness is off for the host: `minDelayMs: 0` in the benchmark sources' registry rows. The
 * `polite` measure lays the sources out over hosts of their own, with a delay (`options`).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type { ArchivedInput } from '@nst/normalizer';
import { decodeBody } from '@nst/shared/charset';
import type { Source } from '@nst/shared/seeds';
import { ROOT } from './harness';

const iconv = createRequire(`${ROOT}packages/shared/package.json`)('iconv-lite') as { encode(text: string, charset: string): Buffer };

export const BENCH_HOST = 'bench.nst.test';
export const ARTICLES_PER_LIST = 20;
const LISTS_PER_SOURCE = 50;
const TARGET_ARTICLE_BYTES = 20_000;

export interface BenchSite {
  sources: Source[];
  /** `<host>/<path>` → body and Content-Type, for the publisher's `extraFiles`. */
  files: Map<string, { body: Buffer; contentType: string }>;
  listPages: number;
  articles: number;
  /** Mean article size in bytes, as served. */
  meanArticleBytes: number;
}

type District = 'baoshan' | 'jinshan' | 'shanghai';
const DISTRICTS: ReadonlyArray<{ district: District; name: string; bureau: string }> = [
  { district: 'baoshan', name: '宝山区', bureau: '宝山区统计局' },
  { district: 'jinshan', name: '金山区', bureau: '金山区统计局' },
  { district: 'shanghai', name: '上海市', bureau: '上海市统计局' },
];

/** Rows as the district pages print them: catalog labels (seeds/indicators.yaml), base level in 亿元. */
const ROWS: ReadonlyArray<{ label: string; base: number; quarterly?: boolean }> = [
  { label: '地区生产总值', base: 1800, quarterly: true },
  { label: '第二产业增加值', base: 760, quarterly: true },
  { label: '第三产业增加值', base: 1020, quarterly: true },
  { label: '规模以上工业总产值', base: 2700 },
  { label: '　其中：工业战略性新兴产业总产值', base: 880 },
  { label: '　其中：新材料产业产值', base: 1130 },
  { label: '　其中：生物医药产业产值', base: 104 },
  { label: '　其中：智能装备产业产值', base: 460 },
  { label: '　其中：新一代信息技术产业产值', base: 215 },
  { label: '全社会固定资产投资', base: 570 },
  { label: '社会消费品零售总额', base: 630 },
  { label: '一般公共预算收入', base: 410 },
  { label: '　其中：区级一般公共预算收入', base: 158 },
  { label: '外贸进出口总额', base: 420 },
];

const EXPLANATIONS: readonly string[] = [
  '地区生产总值：指按市场价格计算的一个地区所有常住单位在一定时期内生产活动的最终成果。地区生产总值有三种表现形态，即价值形态、收入形态和产品形态。',
  '规模以上工业总产值：指年主营业务收入2000万元及以上的工业法人单位在报告期内生产的以货币形式表现的工业最终产品和提供工业劳务活动的总价值量。',
  '工业战略性新兴产业总产值：指规模以上工业企业中属于新一代信息技术、高端装备、生物、新能源、新材料、节能环保等战略性新兴产业的产值。',
  '全社会固定资产投资：指以货币形式表现的在一定时期内全社会建造和购置固定资产的工作量以及与此有关的费用的总称，按在地原则统计。',
  '社会消费品零售总额：指企业（单位、个体户）通过交易售给个人、社会集团非生产、非经营用的实物商品金额，以及提供餐饮服务所取得的收入金额。',
  '一般公共预算收入：指政府凭借国家政治权力，以社会公共管理者身份筹集以税收为主体的财政收入，包括税收收入和非税收入。',
  '增长速度：地区生产总值及各产业增加值增长速度按可比价格计算，其余指标增长速度按现价计算；部分指标数据因统计执行口径调整，与上年公布数据不完全可比。',
  '数据说明：本表数据为快报数据，最终核实数以统计年鉴为准；各项指标分项数之和与合计数因四舍五入原因可能存在微小差异，未作机械调整。',
];

const sha = (text: string) => createHash('sha1').update(text).digest('hex');
/** A stable pseudo-random number in [0, 1) for a key (no Math.random: the site is the same every run). */
const rnd = (key: string) => parseInt(sha(key).slice(0, 8), 16) / 0x100000000;
const pad = (n: number) => String(n).padStart(2, '0');

interface Article {
  index: number;
  district: (typeof DISTRICTS)[number];
  year: number;
  month: number;
  /** Publication date (the following month), `YYYY-MM-DD`. */
  published: string;
  path: string;
  title: string;
  gbk: boolean;
}

/**
 * Article k of a site: district k mod 3, then February–December of 2025 back to 1990 (the pages'
 * dates are read from 1990 on). Once those are used up the same months come round again as
 * revised tables published a few days later, with other figures: new vintages of the same keys.
 */
function describeArticle(k: number, source: number): Article {
  const district = DISTRICTS[k % 3]!;
  const slot = Math.floor(k / 3);
  const monthsPerYear = 11; // January is published together with February (1-2月)
  const years = 36;
  const revision = Math.floor(slot / (monthsPerYear * years));
  const year = 2025 - (Math.floor(slot / monthsPerYear) % years);
  const month = 12 - (slot % monthsPerYear);
  const pubYear = month === 12 ? year + 1 : year;
  const pubMonth = month === 12 ? 1 : month + 1;
  const day = 2 + (k % 3) + 4 * (revision % 6);
  const published = `${pubYear}-${pad(pubMonth)}-${pad(day)}`;
  const path = `/s${source}/${pubYear}${pad(pubMonth)}/t${published.replaceAll('-', '')}_${100000 + k}.html`;
  const title = `${year}年1-${month}月${district.name}主要经济指标`;
  return { index: k, district, year, month, published, path, title, gbk: k % 2 === 1 };
}

function chrome(o: { charset: string; title: string; pub?: string; body: string; key: string; column: string }): string {
  const meta = o.pub ? `<meta name="ArticleTitle" content="${o.title}">\n<meta name="PubDate" content="${o.pub} 15:30">\n<meta name="ContentSource" content="统计信息">\n` : '';
  const nav = ['首页', '政务公开', '统计新闻', '月度数据', '统计公报', '统计年鉴', '统计分析', '普查数据', '政策法规', '互动交流']
    .map((label, i) => `<li><a href="/nav/${i}/index.html">${label}</a></li>`)
    .join('');
  return `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="${o.charset}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="SiteName" content="统计信息">
<meta name="ColumnName" content="${o.column}">
${meta}<title>${o.title}_${o.column}_统计信息</title>
<link rel="stylesheet" href="/css/common.css">
<script src="/js/jquery-1.12.4.min.js"></script>
</head>
<body>
<div class="top-bar"><span>欢迎访问统计信息网</span> <a href="javascript:void(0)" onclick="addFavorite()">加入收藏</a> <a href="javascript:void(0)" class="wza">无障碍浏览</a></div>
<div class="header">
  <div class="logo"><a href="/"><img src="/images/logo.png" alt="统计信息"></a></div>
  <ul class="nav">${nav}</ul>
</div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/tjsj/index.html">统计数据</a> &gt; ${o.column}</div>
<div class="main">
${o.body}
</div>
<div class="footer">
  <p>主办单位：统计信息网\u3000\u3000承办：数据管理中心</p>
  <p>沪ICP备00000000号-1\u3000<a href="mailto:web@bench.nst.test">联系我们</a>\u3000<a href="/wzdt/index.html">网站地图</a></p>
  <p>浏览次数：<span id="viewCount">${200 + Math.floor(rnd(`views${o.key}`) * 9000)}</span></p>
</div>
<script type="text/javascript">
  var _pageKey = "${sha(o.key).slice(0, 12)}";
  (function () { var s = document.createElement("script"); s.src = "/js/stat.js?k=" + _pageKey; document.body.appendChild(s); })();
</script>
</body>
</html>
`;
}

const show = (value: number, places: number) => value.toFixed(places);

function articleHtml(a: Article, related: readonly Article[]): string {
  const quarter = a.month % 3 === 0;
    let rows = '';
  for (const row of ROWS) {
    if (row.quarterly && !quarter) continue;
    const key = `${a.district.district}|${row.label}|${a.year}|${a.month}|${Math.floor(a.index / 3)}`;
    const level = row.base * (a.district.district === 'shanghai' ? 21 : a.district.district === 'jinshan' ? 0.7 : 1) * 1.04 ** (a.year - 2021);
    const cumulative = level * (a.month / 12) * (0.95 + 0.1 * rnd(`c${key}`));
    const current = row.quarterly ? '—' : show(cumulative / a.month * (0.9 + 0.2 * rnd(`m${key}`)), 2);
    const growth = -4 + 14 * rnd(`g${key}`);
    rows += `<tr><td>${row.label}</td><td align="right">${current}</td><td align="right">${show(cumulative, 2)}</td><td align="right">${show(growth, 1)}</td></tr>\n`;
  }
  const links = related
    .map((r) => `  <li><a href="${r.path}" title="${r.title}" target="_blank">${r.title}</a><span class="date">${r.published}</span></li>`)
    .join('\n');
  let explanations = '';
  const render = () =>
    chrome({
      charset: a.gbk ? 'gbk' : 'utf-8',
      title: a.title,
      pub: a.published,
      column: '月度数据',
      key: a.path,
      body: `<div class="content">
<h1 class="con-title">${a.title}</h1>
<div class="con-info"><span>发布日期：${a.published}</span>\u3000<span>来源：${a.district.bureau}</span>\u3000<span><a href="javascript:void(0)" onclick="window.close()">关闭窗口</a></span></div>
<div class="con-text">
<table border="1" cellspacing="0" cellpadding="3" class="tjtable">
<tr><th>指标</th><th>当月绝对值(亿元)</th><th>累计绝对值(亿元)</th><th>累计增长(%)</th></tr>
${rows}</table>
<p>注：${quarter ? '地区生产总值及第二、三产业增加值为季度数据，增速按可比价格计算；' : ''}“—”表示该项无数据。</p>
<div class="zbjs"><h3>指标解释</h3>
${explanations}</div>
</div>
</div>
<div class="related"><h3>相关数据</h3>
<ul class="list">
${links}
</ul>
</div>`,
    });
  const bytes = (html: string) => (a.gbk ? iconv.encode(html, 'gbk').length : Buffer.byteLength(html));
  // Indicator explanations, as the bureaus print under their tables, until the page is ~20 KB.
  let missing = TARGET_ARTICLE_BYTES - bytes(render());
  for (let i = 0; missing > 0; i += 1) {
    const paragraph = `<p>${i + 1}. ${EXPLANATIONS[i % EXPLANATIONS.length]}</p>\n`;
    explanations += paragraph;
    missing -= bytes(paragraph);
  }
  return render();
}

function listHtml(host: string, source: number, page: number, pages: number, articles: readonly Article[], gbk: boolean): string {
  const name = (i: number) => (i === 0 ? 'index.html' : `index_${i}.html`);
  const items = articles
    .map((a, i) => {
      // The link styles publishers mix: absolute path, relative, full URL.
      const href = i % 3 === 0 ? a.path : i % 3 === 1 ? `https://${host}${a.path}` : `.${a.path.slice(`/s${source}`.length)}`;
      return `  <li><a href="${href}" title="${a.title}" target="_blank">${a.title}</a><span class="date">${a.published}</span></li>`;
    })
    .join('\n');
  const pager = Array.from({ length: pages }, (_v, i) => (i === page ? `<span class="cur">${i + 1}</span>` : `<a href="/s${source}/${name(i)}">${i + 1}</a>`)).join(' ');
  return chrome({
    charset: gbk ? 'gbk' : 'utf-8',
    title: '月度数据',
    column: '月度数据',
    key: `list-${source}-${page}`,
    body: `<div class="right">
<h2 class="col-title">月度数据</h2>
<ul class="list">
${items}
</ul>
<div class="page" id="pagenav">${pager}</div>
</div>`,
  });
}

/** One source of a site: its host and its number of list pages (at most discovery.maxPages' 100). */
export interface BenchSourceLayout {
  host: string;
  lists: number;
}

/** Options for {@link generateBenchSite}. */
export interface BenchSiteOptions {
  /** The sources, in order; default `n` list pages on {@link BENCH_HOST}, 50 to a source. */
  layout?: readonly BenchSourceLayout[];
  /** The sources' politeness.minDelayMs; default 0 (politeness off: no per-host delay, no limit per source). */
  minDelayMs?: number;
}

/** The site of `n` list pages (and 20·n articles). */
export function generateBenchSite(n: number, options: BenchSiteOptions = {}): BenchSite {
  const files = new Map<string, { body: Buffer; contentType: string }>();
  const sources: Source[] = [];
  const layout = options.layout ?? Array.from({ length: Math.ceil(n / LISTS_PER_SOURCE) }, (_v, i) => ({ host: BENCH_HOST, lists: Math.min(LISTS_PER_SOURCE, n - i * LISTS_PER_SOURCE) }));
  let article = 0;
  let articleBytes = 0;
  for (const [index, { host, lists: pages }] of layout.entries()) {
    const s = index + 1;
    sources.push({
      key: `bench-${s}`,
      name: `Benchmark source ${s}`,
      publisher: 'nst bench (synthetic)',
      format: 'stats-table',
      url: `https://${host}/s${s}/index.html`,
      schedule: '0 7 * * *',
      lang: 'zh',
      enabled: true,
      politeness: { minDelayMs: options.minDelayMs ?? 0, concurrency: 1, timeoutMs: 20_000, maxBytes: 10_485_760 },
      discovery: { links: `^/s${s}/\\d{6}/t\\d{8}_\\d+\\.html$`, pages: `^/s${s}/index_\\d+\\.html$`, maxPages: pages, maxDepth: 1 },
    });
    for (let p = 0; p < pages; p += 1) {
      const articles = Array.from({ length: ARTICLES_PER_LIST }, () => describeArticle(article++, s));
      for (const [i, a] of articles.entries()) {
        const html = articleHtml(a, articles.filter((_r, j) => j !== i).slice(0, 12));
        const body = a.gbk ? iconv.encode(html, 'gbk') : Buffer.from(html);
        articleBytes += body.length;
        files.set(`${host}${a.path}`, { body, contentType: a.gbk ? 'text/html; charset=GBK' : 'text/html; charset=utf-8' });
      }
      const gbk = (s + p) % 2 === 1;
      const html = listHtml(host, s, p, pages, articles, gbk);
      files.set(`${host}/s${s}/${p === 0 ? 'index.html' : `index_${p}.html`}`, {
        body: gbk ? iconv.encode(html, 'gbk') : Buffer.from(html),
        contentType: gbk ? 'text/html; charset=GBK' : 'text/html; charset=utf-8',
      });
    }
  }
  for (const host of new Set(layout.map((source) => source.host))) {
    files.set(`${host}/robots.txt`, { body: Buffer.from('User-agent: *\nDisallow: /private/\n'), contentType: 'text/plain; charset=utf-8' });
  }
  return { sources, files, listPages: layout.reduce((sum, source) => sum + source.lists, 0), articles: article, meanArticleBytes: Math.round(articleBytes / article) };
}

/** One of the site's articles (a district table), with the source it belongs to. */
export interface BenchArticle {
  url: string;
  sourceKey: string;
  body: Buffer;
  contentType: string;
}

/** The site's articles in the order they were generated (list pages left out). */
export function benchArticles(site: BenchSite): BenchArticle[] {
  return [...site.files.entries()]
    .filter(([path]) => /\/t\d{8}_\d+\.html$/.test(path))
    .map(([path, file]) => ({ url: `https://${path}`, sourceKey: `bench-${/\/s(\d+)\//.exec(path)![1]}`, body: file.body, contentType: file.contentType }));
}

/** An article as the archive holds it and the normalizer reads it: gzip of the bytes, the charset they were decoded with. */
export function archivedArticle(article: BenchArticle, documentId: number, fetchedAt: Date): ArchivedInput {
  const { charset } = decodeBody(article.body, article.contentType);
  return {
    documentId, bodyGzip: gzipSync(article.body), hasText: true, ...(charset ? { charset } : {}), contentType: article.contentType, url: article.url,
    format: 'stats-table', lang: 'zh', fetchedAt,
  };
}

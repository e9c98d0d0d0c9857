/**
 * The README is a front door (issue #25): it stays small, it links every page of docs/, and no relative link
 * in it, in docs/ or in deploy/kubernetes/README.md points at a file that does not exist or at a heading
 * (`#anchor`, GitHub's slugs) that its page does not have. Its short table of the main settings agrees with
 * the generated configuration table.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { renderConfigTable } from '../../shared/config/config-docs';

const root = join(__dirname, '..', '..');
const README = 'README.md';
/** "At most 25 KB", counted strictly. */
const README_MAX_BYTES = 25_000;
const pages = readdirSync(join(root, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .sort()
  .map((name) => `docs/${name}`);
const CHECKED = [README, ...pages, 'deploy/kubernetes/README.md'];

const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** The lines of a Markdown text, each blanked when it is inside (or opens or closes) a fenced code block. */
function outsideFences(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (fence === undefined || (marker[0] === fence[0] && marker.length >= fence.length))) {
      fence = fence === undefined ? marker : undefined;
      return '';
    }
    return fence === undefined ? line : '';
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page's headings make, a repeated heading's with GitHub's -1, -2 suffix. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of outsideFences(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Every link and image target of a page, outside code blocks and code spans. */
function linksOf(markdown: string): string[] {
  const prose = outsideFences(markdown).join('\n').replace(/(`+)[\s\S]*?\1/g, '``');
  return [...prose.matchAll(/!?\[((?:[^[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[2]);
}

/**
 * The relative links of `file` (a path from the repository's root) that lead nowhere: a missing file or
 * folder, a path out of the repository, or an anchor its page has no heading for.
 */
function brokenLinks(file: string, markdown: string, readPage: (file: string) => string = read): string[] {
  const broken: string[] = [];
  for (const target of linksOf(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const hash = target.indexOf('#');
    const path = hash < 0 ? target : target.slice(0, hash);
    const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const into = path === '' ? file : normalize(join(dirname(file), decodeURIComponent(path))).replace(/\\/g, '/').replace(/\/$/, '');
    if (into.startsWith('..') || relative(root, join(root, into)).startsWith('..')) {
      broken.push(`${target} (outside the repository)`);
    } else if (path !== '' && !existsSync(join(root, into))) {
      broken.push(`${target} (no such file)`);
    } else if (anchor !== undefined && into.endsWith('.md') && !anchorsOf(into === file ? markdown : readPage(into)).has(anchor)) {
      broken.push(`${target} (no heading with that anchor in ${into})`);
    }
  }
  return broken;
}

/** The rows of the first table after a `## heading` line, as cells. */
function tableAfter(markdown: string, heading: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no "${heading}" section`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('## ')) break;
    if (line.startsWith('|')) rows.push(cells(line));
    else if (rows.length > 0) break;
  }
  return rows.slice(2); // the header and the |---| line
}

function cells(row: string): string[] {
  return row
    .slice(1, row.endsWith('|') ? -1 : undefined)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

describe('the README', () => {
  const readme = read(README);

  test(`is a front door of at most ${README_MAX_BYTES.toLocaleString('en')} bytes`, () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  test('links every page of docs/', () => {
    expect(pages.length).toBeGreaterThan(0);
    const linked = new Set(linksOf(readme).map((target) => normalize(target.split('#')[0]).replace(/\\/g, '/')));
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  test('shows each main setting with the group and default of the generated configuration table', () => {
    const generated = new Map(
      renderConfigTable()
        .split('\n')
        .filter((line) => line.startsWith('| `'))
        .map(cells)
        .map(([groups, key, fallback]) => [`${groups} ${key.split(' ')[0]}`, fallback] as const),
    );
    const rows = tableAfter(readme, '## Main settings');
    expect(rows.length).toBeGreaterThan(5);
    for (const [groups, key, fallback] of rows) {
      expect({ setting: `${groups} ${key}`, default: generated.get(`${groups} ${key}`) }).toEqual({ setting: `${groups} ${key}`, default: fallback });
    }
  });
});

describe.each(CHECKED)('%s', (file) => {
  test('every relative link leads to a file that exists, and every #anchor to a heading of its page', () => {
    expect(brokenLinks(file, read(file))).toEqual([]);
  });
});

describe('the link check', () => {
  test('finds a missing file, a missing heading on the page and on another page, and a way out of the repository', () => {
    const page = [
      '# A page',
      '## Coming from `FlinkKinesisConsumer`',
      'Fine: [here](#a-page), [there](#coming-from-flinkkinesisconsumer), [up](../README.md#quick-start),',
      '[a folder](../worker/), an image ![curve](scale-curve.svg), and [one across',
      'two lines](configuration.md#every-property); `[not a link](nowhere.md)` and',
      '```',
      '[nor this](nowhere.md)',
      '```',
      'Broken: [gone](nowhere.md), [no heading](#nothing-here), [elsewhere](configuration.md#nothing-there),',
      '[out](../../outside.md).',
    ].join('\n');
    expect(brokenLinks('docs/example.md', page)).toEqual([
      'nowhere.md (no such file)',
      '#nothing-here (no heading with that anchor in docs/example.md)',
      'configuration.md#nothing-there (no heading with that anchor in docs/configuration.md)',
      '../../outside.md (outside the repository)',
    ]);
  });

  test('makes GitHub\'s anchors', () => {
    expect(slug('Scale: 128 to 2,048 shards')).toBe('scale-128-to-2048-shards');
    expect(slug('Load-aware balancing (`worker.balance = THROUGHPUT`)')).toBe('load-aware-balancing-workerbalance--throughput');
    expect(slug('IAM, least privilege')).toBe('iam-least-privilege');
    expect([...anchorsOf('# Notes\n## Notes\n```\n# not a heading\n```')]).toEqual(['notes', 'notes-1']);
  });
});

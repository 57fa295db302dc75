import { describe, expect, test } from 'vitest';
import { compareResults } from '../../src/findings/compare.js';
import type { ImageResult, ResultsDelta } from '../../src/model.js';
import { buildAnnotations } from '../../src/report/annotations.js';
import { COMMENT_LIMIT_CHARS, commentMarker, renderComment } from '../../src/report/comment.js';
import { renderSummary } from '../../src/report/summary.js';
import { makeFinding, makeImage, makeView } from './fixtures/render/build-view.js';

// The PR comment and the job summary lead with the delta against the base branch; annotations name the new
// findings on the image's line; without a baseline, one line says so.

const marker = commentMarker({ category: 'image-scan', workflow: 'w', job: 'j' });
const R = 'reg.test';

const before: ImageResult[] = [
  makeImage(`${R}/node:20.11`, {
    findings: [
      makeFinding({ id: 'CVE-KEEP', severity: 'HIGH', pkg: 'openssl' }),
      makeFinding({ id: 'CVE-GONE-1', severity: 'HIGH', pkg: 'zlib' }),
      makeFinding({ id: 'CVE-GONE-2', severity: 'LOW', pkg: 'curl' }),
    ],
  }),
  makeImage(`${R}/old:1`, { findings: [makeFinding({ id: 'CVE-OLD', severity: 'MEDIUM' })] }),
];
const after: ImageResult[] = [
  makeImage(`${R}/node:20.12`, {
    target: { origins: [{ file: 'Dockerfile', line: 1 }] },
    findings: [
      makeFinding({ id: 'CVE-KEEP', severity: 'HIGH', pkg: 'openssl' }),
      makeFinding({ id: 'CVE-FRESH', severity: 'CRITICAL', pkg: 'glibc', installed: '2.36', fixed: '2.37' }),
    ],
  }),
  makeImage(`${R}/new:1`, { findings: [makeFinding({ id: 'CVE-ADDED', severity: 'LOW' })] }),
];
const delta: ResultsDelta = {
  baseline: { source: 'the last run on "main"', createdAt: '2026-03-09T10:00:00.000Z' },
  images: compareResults(before, after),
};

function view(d: ResultsDelta | undefined) {
  const v = makeView({ images: after });
  return { ...v, results: { ...v.results, ...(d && { delta: d }) } };
}

describe('the PR comment leads with the delta', () => {
  const body = renderComment(view(delta), { marker }).body;

  test('totals, then one line per image: compared (with the old tag), added, removed', () => {
    expect(body).toContain(
      '**Against the base branch** (the last run on "main", 2026-03-09T10:00:00Z): +2 new (1 critical), −3 fixed, 1 unchanged',
    );
    expect(body).toContain(
      `- \`${R}/node:20.12\` (was \`${R}/node:20.11\`): +1 new (1 critical), −2 fixed, 1 unchanged`,
    );
    expect(body).toContain(`- \`${R}/new:1\` — added by this change: +1 new`);
    expect(body).toContain(`- \`${R}/old:1\` — no longer scanned (removed by this change): −1 fixed`);
  });

  test('new findings listed first (worst first), fixed ones folded', () => {
    const newAt = body.indexOf('**New** (2)');
    const fixedAt = body.indexOf('<details><summary>Fixed (3)</summary>');
    expect(newAt).toBeGreaterThan(0);
    expect(fixedAt).toBeGreaterThan(newAt);
    const fresh = body.slice(newAt, fixedAt);
    expect(fresh.indexOf('CVE-FRESH')).toBeLessThan(fresh.indexOf('CVE-ADDED'));
    expect(fresh).toContain('in `glibc`: 2.36 → 2.37');
    for (const id of ['CVE-GONE-1', 'CVE-GONE-2', 'CVE-OLD']) expect(body.slice(fixedAt)).toContain(id);
    // Before the images table: the delta is what the reviewer reads first.
    expect(body.indexOf('Against the base branch')).toBeLessThan(body.indexOf('**Images**'));
  });

  test('the summary leads with it too', () => {
    const md = renderSummary(view(delta)).markdown;
    expect(md).toContain(`+1 new (1 critical), −2 fixed, 1 unchanged`);
    expect(md.indexOf('Against the base branch')).toBeLessThan(md.indexOf('CVE-FRESH'));
  });
});

describe('without a baseline', () => {
  test('one line says why and what the gate does', () => {
    const missing =
      'No baseline to compare with: no results of "main" are stored yet; the gate applies the full policy.';
    const body = renderComment(view({ missing, images: [] }), { marker }).body;
    expect(body).toContain(`> ${missing}`);
    expect(body).not.toContain('Against the base branch');
    expect(renderSummary(view({ missing, images: [] })).markdown).toContain('No baseline to compare with');
  });

  test('no delta, no section: runs without a baseline render as before', () => {
    expect(renderComment(view(undefined), { marker }).body).not.toMatch(/baseline|base branch/);
  });
});

describe('annotations name the new findings on the changed line', () => {
  test('the FROM line of the bumped image says what the change adds', () => {
    const built = buildAnnotations(view(delta));
    const onDockerfile = built.annotations.find((a) => a.file === 'Dockerfile');
    expect(onDockerfile?.startLine).toBe(1);
    expect(onDockerfile?.message).toContain(
      'New against the base branch: +1 new (1 critical): CVE-FRESH (CRITICAL) glibc',
    );
  });
});

describe('untrusted text in the delta is inert', () => {
  test('image refs and IDs from a baseline cannot mention, link or break out', () => {
    const hostile: ResultsDelta = {
      baseline: { source: 'the last run on "@acme/admins <b>x</b>"', createdAt: 'not a date' },
      images: [
        {
          ref: 'reg.test/@acme/team:1`<img src=x>',
          change: 'removed',
          new: [],
          fixed: [
            {
              id: 'CVE-1 @octocat [x](https://evil.test) <script>',
              pkg: 'p@ss`',
              severity: 'HIGH',
              class: 'os-pkgs',
              target: 't',
            },
          ],
          unchanged: 0,
        },
      ],
    };
    const body = renderComment(view(hostile), { marker }).body;
    const section = body.slice(body.indexOf('Against the base branch'), body.indexOf('</details>'));
    // GitHub links no mention inside a code span; outside them, every `@` is broken.
    const prose = section.replace(/(`+)[\s\S]*?\1/g, '');
    expect(prose).toContain('CVE-1');
    expect(prose).not.toMatch(/@(?=[A-Za-z0-9])/);
    expect(prose).not.toMatch(/(?<!\\)<(b|img|script)[\s>]/);
    expect(prose).not.toMatch(/(?<!\\)\]\(/);
  });

  test("huge names from a baseline are cut, and the comment stays within GitHub's limit", () => {
    const huge = 'A'.repeat(100_000);
    const flood: ResultsDelta = {
      baseline: { source: huge, createdAt: '' },
      images: Array.from({ length: 60 }, (_, i) => ({
        ref: `${huge}${i}`,
        change: 'removed' as const,
        new: [],
        fixed: Array.from({ length: 2 }, (_, j) => ({
          id: `${huge}-${j}`,
          pkg: huge,
          installed: huge,
          fixed: huge,
          severity: 'HIGH' as const,
          class: 'os-pkgs' as const,
          target: 't',
        })),
        unchanged: 0,
      })),
    };
    const body = renderComment(view(flood), { marker }).body;
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT_CHARS);
    expect(body).toContain('−120 fixed');
    expect(body).toContain('…and 50 more images in the results file');
    const md = renderSummary(view(flood)).markdown;
    expect(Buffer.byteLength(md)).toBeLessThan(1_048_576);
    expect(md).toContain(`${'A'.repeat(150)}`);
    expect(md).not.toContain(`${'A'.repeat(250)}`);
  });
});

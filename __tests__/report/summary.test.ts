import { describe, expect, test } from 'vitest';
import { renderSummary, SUMMARY_LIMIT_BYTES } from '../../src/report/summary.js';
import {
  estate,
  ESTATES,
  makeFinding,
  makeImage,
  makeVerdict,
  makeView,
  NOW,
} from './fixtures/render/build-view.js';
import { malformedRows, parseTables } from './fixtures/render/markdown-tables.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The `<details>` blocks of the per-image findings, keyed by the image ref in their `<summary>`. */
function detailRefs(markdown: string): Set<string> {
  const refs = new Set<string>();
  for (const m of markdown.matchAll(/<details><summary>(?:\S+ )?(\S+) — /g)) refs.add(m[1]);
  return refs;
}

describe('renderSummary over estates of 1, 30 and 300 images', () => {
  test.each(Object.entries(ESTATES))(
    '%s: within 1 MiB, verdict first, every failing image named',
    (_, opts) => {
      const built = estate(opts);
      const { markdown } = renderSummary(built.view);

      expect(bytes(markdown)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);
      expect(markdown.split('\n')[0]).toBe('## ❌ Image Scan Gate: fail');
      for (const ref of built.failingRefs) expect(markdown).toContain(ref);
      // Failed images show Trivy's own error in a code block.
      for (const ref of built.failedRefs) {
        expect(markdown).toContain(
          `\`\`\`text\nFATAL image scan error: unable to find the specified image "${ref}"`,
        );
      }
      expect(malformedRows(markdown)).toEqual([]);
    },
  );

  test('the banner counts violations, failing images, failures and skips', () => {
    const { view } = estate(ESTATES.thirty);
    const { markdown } = renderSummary(view);
    // 4 fail-on + 2 failed-image violations, each on its own image, of 30 images; 3 skipped targets.
    expect(markdown).toContain('**6 violations** in **6 of 30 images** · 2 failed to scan · 3 skipped');
  });

  test('300 images with 40 findings each: details of the least severe images are left out, and it says so', () => {
    const built = estate(ESTATES.threeHundred);
    const { markdown, truncated } = renderSummary(built.view);
    expect(truncated).toBe(true);
    expect(bytes(markdown)).toBeLessThanOrEqual(SUMMARY_LIMIT_BYTES);

    const kept = detailRefs(markdown);
    const withFindings = built.view.results.images.filter((i) => i.findings.length > 0);
    const leftOut = withFindings.filter((i) => !kept.has(i.target.ref));
    expect(kept.size).toBeGreaterThan(0);
    expect(leftOut.length).toBeGreaterThan(0);
    expect(markdown).toContain(
      `Details for ${leftOut.length} images left out to stay within GitHub's 1 MiB summary limit; see the results file.`,
    );
    // Every failing image keeps its details; only passing ones are dropped.
    for (const ref of built.failingRefs.filter((r) => !built.failedRefs.includes(r)))
      expect(kept).toContain(ref);
    expect(leftOut.every((i) => built.passingRefs.includes(i.target.ref))).toBe(true);
    // Dropped from the least severe end: no dropped passing image has more HIGH findings than a kept one.
    const highs = (ref: string): number =>
      built.view.results.images
        .find((i) => i.target.ref === ref)!
        .findings.filter((f) => f.severity === 'HIGH').length;
    const keptPassingHighs = [...kept].filter((r) => built.passingRefs.includes(r)).map(highs);
    const droppedHighs = leftOut.map((i) => highs(i.target.ref));
    expect(Math.max(...droppedHighs)).toBeLessThanOrEqual(Math.min(...keptPassingHighs));
    // The rest of the page is still whole: the images table lists all 300.
    const imagesTable = parseTables(markdown).find(
      (t) => t.header[0] === 'Image' && t.header[1] === 'Digest',
    )!;
    expect(imagesTable.rows).toHaveLength(300);
  });

  test.each([60_000, 25_000])(
    'a budget of %i bytes shortens further but keeps the verdict and the failing images',
    (maxBytes) => {
      const built = estate(ESTATES.threeHundred);
      const { markdown, truncated } = renderSummary(built.view, { maxBytes });
      expect(truncated).toBe(true);
      expect(bytes(markdown)).toBeLessThanOrEqual(maxBytes);
      expect(markdown.startsWith('## ❌ Image Scan Gate: fail')).toBe(true);
      for (const ref of built.failingRefs) expect(markdown).toContain(ref);
      expect(markdown).toMatch(/1 MiB summary limit; see the results file/);
      expect(malformedRows(markdown)).toEqual([]);
    },
  );

  test('with a small budget passing images leave the table as a count', () => {
    const built = estate(ESTATES.threeHundred);
    const { markdown } = renderSummary(built.view, { maxBytes: 25_000 });
    const passing = built.passingRefs.length;
    expect(markdown).toContain(`…and ${passing} passing images (listed in the results file).`);
    expect(markdown).not.toContain(`| ${built.passingRefs[0]} |`);
  });
});

describe('renderSummary content', () => {
  const openssl = makeFinding({
    id: 'CVE-2024-0001',
    severity: 'CRITICAL',
    pkg: 'openssl',
    installed: '3.0.1-r0',
    fixed: '3.0.13-r0',
    cvss: { score: 9.8, source: 'nvd', version: '3' },
  });
  const zlib = makeFinding({
    id: 'CVE-2024-0002',
    severity: 'HIGH',
    pkg: 'zlib',
    installed: '1.2.11',
    fixed: '',
  });
  const lowOne = makeFinding({
    id: 'CVE-2024-0003',
    severity: 'LOW',
    pkg: 'busybox',
    installed: '1.36',
    fixed: '1.37',
  });
  const image = makeImage('docker.io/library/nginx:1.25', { findings: [openssl, zlib, lowOne] });

  test('pass and warn banners', () => {
    const pass = renderSummary(makeView({ images: [image] })).markdown;
    expect(pass.split('\n')[0]).toBe('## ✅ Image Scan Gate: pass');
    expect(pass).toContain('**1 image**, no violations');

    const warn = renderSummary(
      makeView({
        images: [image],
        verdict: makeVerdict({
          result: 'warn',
          violations: [
            {
              rule: 'fail-on',
              image: image.target.ref,
              findings: ['CVE-2024-0001'],
              threshold: 'CRITICAL',
              message: 'x',
            },
          ],
        }),
      }),
    ).markdown;
    expect(warn.split('\n')[0]).toBe('## ⚠️ Image Scan Gate: warn');
    expect(warn).toContain('does not fail');
  });

  test('violations table names rule, image, threshold and the findings that raised it', () => {
    const view = makeView({
      images: [image],
      verdict: makeVerdict({
        result: 'fail',
        violations: [
          {
            rule: 'max-cvss',
            image: image.target.ref,
            findings: ['CVE-2024-0001 (openssl)'],
            threshold: '>= 9.0',
            message: 'CVSS 9.8',
          },
          {
            rule: 'expired-ignore',
            findings: [],
            threshold: 'ignore expired',
            message: 'CVE-2023-1 expired',
          },
        ],
      }),
    });
    const table = parseTables(renderSummary(view).markdown).find((t) => t.header[0] === 'Rule')!;
    expect(table.header).toEqual(['Rule', 'Image', 'Threshold', 'Findings']);
    expect(table.rows[0]).toEqual([
      '`max-cvss`',
      'docker.io/library/nginx:1.25',
      '\\>= 9.0',
      '`CVE-2024-0001 (openssl)`',
    ]);
    // A run-wide violation has no image; its message explains it.
    expect(table.rows[1][1]).toBe('_all images_');
    expect(table.rows[1][3]).toBe('CVE-2023-1 expired');
  });

  test('fixable findings with their fixed versions, worst first; unfixed ones are not in that list', () => {
    const { markdown } = renderSummary(makeView({ images: [image] }));
    const fixFirst = parseTables(markdown).find(
      (t) => t.header.includes('Installed → Fixed') && t.header[0] === 'Severity',
    )!;
    expect(fixFirst.rows.map((r) => r[1])).toEqual([
      '[CVE-2024-0001](https://avd.aquasec.com/nvd/cve-2024-0001)',
      '[CVE-2024-0003](https://avd.aquasec.com/nvd/cve-2024-0003)',
    ]);
    expect(fixFirst.rows[0][3]).toBe('3.0.1-r0 → 3.0.13-r0');
    expect(fixFirst.rows[0][4]).toBe('9.8 (nvd)');
  });

  test('per-image details list every visible finding, ID linked, installed → fixed, severity, CVSS', () => {
    const { markdown } = renderSummary(makeView({ images: [image] }));
    expect(markdown).toContain(
      '<details><summary>🔴 docker.io/library/nginx:1.25 — 1 critical, 1 high, 1 low (2 fixable)</summary>',
    );
    const details = parseTables(markdown).find((t) => t.header[0] === 'ID' && t.header[1] === 'Package')!;
    expect(details.rows.map((r) => r[0])).toEqual([
      '[CVE-2024-0001](https://avd.aquasec.com/nvd/cve-2024-0001)',
      '[CVE-2024-0002](https://avd.aquasec.com/nvd/cve-2024-0002)',
      '[CVE-2024-0003](https://avd.aquasec.com/nvd/cve-2024-0003)',
    ]);
    expect(details.rows[1][2]).toBe('1.2.11 → _no fix yet_');
    expect(details.rows[0][3]).toBe('🔴 CRITICAL');
  });

  test('severities not selected and ignored findings are not shown or counted', () => {
    const view = makeView({
      images: [image],
      severities: ['CRITICAL', 'HIGH'],
      verdict: makeVerdict({
        ignored: [
          { image: image.target.ref, findingId: 'CVE-2024-0002', pkg: 'zlib', rule: '.trivyignore:3' },
        ],
      }),
    });
    const { markdown } = renderSummary(view);
    expect(markdown).not.toContain('[CVE-2024-0003]'); // LOW, not selected
    expect(markdown).not.toContain('[CVE-2024-0002]'); // ignored
    const images = parseTables(markdown).find((t) => t.header[1] === 'Digest')!;
    expect(images.header).toEqual(['Image', 'Digest', 'OS', '🔴 C', '🟠 H', 'Fixable', 'Verdict']);
    expect(images.rows[0].slice(3, 6)).toEqual(['1', '0', '1']);
    // The ignore itself is listed as applied.
    expect(markdown).toContain('**Applied** (1 finding ignored)');
    expect(markdown).toContain('`CVE-2024-0002`');
  });

  test('images table: digest short, OS, EOSL', () => {
    const eosl = makeImage('docker.io/library/debian:9', {
      digest: 'sha256:aaaaaaaaaaaabbbbbbbbbbbbcccccccccccc',
      os: { family: 'debian', name: '9.13', eosl: true },
    });
    const { markdown } = renderSummary(makeView({ images: [eosl] }));
    const row = parseTables(markdown).find((t) => t.header[1] === 'Digest')!.rows[0];
    expect(row.slice(0, 3)).toEqual([
      'docker.io/library/debian:9',
      'sha256:aaaaaaaaaaaa',
      'debian 9.13 (EOSL)',
    ]);
  });

  test('ignores: expired and unused ones are listed with their source', () => {
    const { view } = estate(ESTATES.thirty);
    const { markdown } = renderSummary(view);
    const expired = parseTables(markdown).find((t) => t.header[1] === 'Expired')!;
    expect(expired.rows).toEqual([
      ['`CVE-2023-0001`', '2026-01-31', 'policy.yaml:9', 'waiting for upstream'],
    ]);
    const unused = parseTables(markdown).find((t) => t.header.join() === 'ID,Source')!;
    expect(unused.rows).toEqual([['`CVE-2022-9999`', '.trivyignore.yaml:12']]);
  });

  test('skipped images with their reason; the policy lines; Trivy version and DB age; links', () => {
    const view = makeView({
      images: [image],
      policyLines: ['fail-on: HIGH', 'max critical: 0'],
      dbUpdatedAt: new Date(NOW.getTime() - 5 * 3600_000).toISOString(),
      trivyVersion: '0.74.0',
    });
    view.results.skipped = [{ ref: 'ghcr.io/acme/old:1', reason: 'over max-images (500)' }];
    const { markdown } = renderSummary(view);
    const skipped = parseTables(markdown).find((t) => t.header.join() === 'Image,Reason')!;
    expect(skipped.rows).toEqual([['ghcr.io/acme/old:1', 'over max-images (500)']]);
    expect(markdown).toContain('### Policy\n\n- fail-on: HIGH\n- max critical: 0');
    expect(markdown).toContain('Trivy 0.74.0 · DB updated 5 h ago');
    expect(markdown).toContain('[run](https://github.com/acme/app/actions/runs/123/attempts/2)');
    expect(markdown).toContain(
      '[Security tab](https://github.com/acme/app/security/code-scanning?query=tool%3ATrivy)',
    );
  });

  test('notes from other stages are shown near the top', () => {
    const { markdown } = renderSummary(
      makeView({ images: [image], notes: ['14 annotations were left out (GitHub shows at most 10 errors)'] }),
    );
    expect(markdown.indexOf('14 annotations were left out')).toBeLessThan(markdown.indexOf('### Images'));
  });
});

describe('renderSummary escaping of untrusted text', () => {
  const hostile = makeImage('registry.example.com/acme/app:1', {
    findings: [
      makeFinding({
        id: 'GHSA-x|y',
        severity: 'HIGH',
        pkg: 'evil|pkg\nsecond line',
        installed: '1.0|beta',
        fixed: '1.1\n2.0',
        url: 'javascript:alert(1)',
      }),
      makeFinding({ id: 'CVE-2024-9', severity: 'HIGH', pkg: '<img src=x onerror=alert(1)>', fixed: '2' }),
    ],
    status: 'scanned',
  });
  const failed = makeImage('registry.example.com/acme/broken:1', {
    status: 'failed',
    error: 'boom\n```\nnot the end of the block\n| not | a | table |',
  });
  const view = makeView({
    images: [hostile, failed],
    verdict: makeVerdict({
      result: 'fail',
      violations: [
        {
          rule: 'max|high',
          image: hostile.target.ref,
          findings: ['GHSA-x|y (evil|pkg)'],
          threshold: '> 1 | 2',
          message: 'm',
        },
      ],
      expiredIgnores: [{ id: 'CVE-1', expires: '2026-01-01', source: 'a|b', reason: 'line one\nline two' }],
    }),
    policyLines: ['images: x|y'],
  });
  view.results.skipped = [{ ref: 'r', reason: 'pipe | and\nnewline' }];
  const { markdown } = renderSummary(view);

  test('every table row keeps its column count', () => {
    expect(malformedRows(markdown)).toEqual([]);
  });

  test('a non-web URL is not linked; HTML is escaped', () => {
    expect(markdown).not.toContain('](javascript:');
    expect(markdown).not.toMatch(/(?<!\\)<img/);
    expect(markdown).toContain('\\<img src=x onerror=alert(1)\\>');
  });

  test("Trivy's error stays inside one code block even when it contains a fence", () => {
    expect(markdown).toContain('````text\nboom\n```\nnot the end of the block\n| not | a | table |\n````');
  });
});

test('last resort: a budget too small for even the shortest form is cut at a line and says so', () => {
  const { view } = estate(ESTATES.threeHundred);
  const { markdown, truncated } = renderSummary(view, { maxBytes: 8_000 });
  expect(truncated).toBe(true);
  expect(bytes(markdown)).toBeLessThanOrEqual(8_000);
  expect(markdown.startsWith('## ❌ Image Scan Gate: fail')).toBe(true);
  expect(markdown).toContain("The summary was cut to stay within GitHub's 1 MiB summary limit");
});

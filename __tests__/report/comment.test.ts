import { describe, expect, test } from 'vitest';
import {
  COMMENT_LIMIT_CHARS,
  commentMarker,
  legacyCommentMarker,
  renderComment,
} from '../../src/report/comment.js';
import {
  ESTATES,
  estate,
  makeFinding,
  makeImage,
  makeVerdict,
  makeView,
  NOW,
} from './fixtures/render/build-view.js';
import { malformedRows, parseTables } from './fixtures/render/markdown-tables.js';

const marker = commentMarker({ category: 'image-scan', workflow: 'scan', job: 'scan' });

describe('commentMarker', () => {
  test.each([
    ['image-scan', /^<!-- image-scan-gate:image-scan key=[0-9a-f]{16} -->$/],
    ['images/prod', /^<!-- image-scan-gate:images\/prod key=[0-9a-f]{16} -->$/],
    // Nothing may close the HTML comment early or break it across lines.
    ['evil --> <b>x</b>\n', /^<!-- image-scan-gate:evil_-___b_x_\/b__ key=[0-9a-f]{16} -->$/],
  ])('%j', (category, expected) => {
    const m = commentMarker({ category, workflow: 'w --> <b>', job: 'j\n', matrix: '{"x":"-->"}' });
    expect(m).toMatch(expected);
    expect(m.slice(4, -3)).not.toMatch(/--|>|\n/);
  });

  const owner = { category: 'image-scan', workflow: 'CI', job: 'scan' };
  test('two jobs, two matrix entries or two categories on one pull request get different markers', () => {
    const markers = [
      commentMarker(owner),
      commentMarker({ ...owner, job: 'scan-prod' }),
      commentMarker({ ...owner, workflow: 'Nightly' }),
      commentMarker({ ...owner, matrix: '{"env":"prod"}' }),
      commentMarker({ ...owner, matrix: '{"env":"staging"}' }),
      commentMarker({ ...owner, category: 'other' }),
    ];
    expect(new Set(markers).size).toBe(markers.length);
    // No marker contains another (the PR comment stage finds its comment by substring).
    for (const a of markers) for (const b of markers) if (a !== b) expect(a.includes(b)).toBe(false);
  });

  test('the same job gets the same marker on every run; no matrix is the same as toJSON(matrix) = null', () => {
    expect(commentMarker(owner)).toBe(commentMarker({ ...owner }));
    expect(commentMarker({ ...owner, matrix: 'null' })).toBe(commentMarker(owner));
    expect(commentMarker({ ...owner, matrix: '' })).toBe(commentMarker(owner));
    // toJSON(matrix) is pretty-printed; key order and whitespace do not matter.
    expect(commentMarker({ ...owner, matrix: '{\n  "os": "linux",\n  "arch": "x64"\n}' })).toBe(
      commentMarker({ ...owner, matrix: '{"arch":"x64","os":"linux"}' }),
    );
  });

  test('the legacy marker (category only) is not contained in any keyed marker', () => {
    const legacy = legacyCommentMarker('image-scan');
    expect(legacy).toBe('<!-- image-scan-gate:image-scan -->');
    expect(commentMarker(owner).includes(legacy)).toBe(false);
  });
});

describe('renderComment over estates of 1, 30 and 300 images', () => {
  test.each(Object.entries(ESTATES))(
    '%s: marker first, within 65,536 characters, verdict and every failing image visible',
    (_, opts) => {
      const built = estate(opts);
      const { body } = renderComment(built.view, { marker });
      expect(body.startsWith(`${marker}\n`)).toBe(true);
      expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT_CHARS);
      expect(body).toContain('### ❌ Image Scan Gate: fail');
      for (const ref of built.failingRefs) expect(body).toContain(ref);
      expect(malformedRows(body)).toEqual([]);
    },
  );

  test('a small estate is not shortened: failing images first, passing ones folded, failed scans show their error', () => {
    const built = estate(ESTATES.thirty);
    const { body, truncated } = renderComment(built.view, { marker });
    expect(truncated).toBe(false);
    const [failingTable, passingTable] = parseTables(body).filter((t) => t.header[0] === 'Image');
    // Failing images in the open, each naming the rule that fails it.
    expect(failingTable.rows.map((r) => r[0]).sort()).toEqual([...built.failingRefs].sort());
    expect(failingTable.rows.every((r) => r[r.length - 1].startsWith('❌'))).toBe(true);
    // 24 passing images: folded, every row still there.
    expect(body).toContain(`<details><summary>${built.passingRefs.length} passing images</summary>`);
    expect(passingTable.rows.map((r) => r[0]).sort()).toEqual([...built.passingRefs].sort());
    for (const ref of built.failedRefs) {
      expect(body).toContain(`<details><summary>${ref}</summary>\n\n\`\`\`text\nFATAL image scan error`);
    }
  });

  test('300 images, half failing: passing rows collapse into a count and the comment says it is shortened', () => {
    const built = estate(ESTATES.threeHundredHalfFailing);
    const { body, truncated } = renderComment(built.view, { marker });
    expect(truncated).toBe(true);
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT_CHARS);
    expect(body).toContain('comment size limit; the job summary has the full report');
    expect(body).toContain(`…and ${built.passingRefs.length} passing images (see the job summary).`);
    for (const ref of built.passingRefs) expect(body).not.toContain(`| ${ref} |`);
    for (const ref of built.failingRefs) expect(body).toContain(ref);
  });

  test('the first thing to go under a tighter budget is the passing rows, replaced by their count', () => {
    const built = estate(ESTATES.thirty);
    const full = renderComment(built.view, { marker }).body;
    const tighter = renderComment(built.view, { marker, maxChars: full.length - 1 });
    expect(tighter.truncated).toBe(true);
    expect(tighter.body).toContain(`…and ${built.passingRefs.length} passing images (see the job summary).`);
    for (const ref of built.passingRefs) expect(tighter.body).not.toContain(`| ${ref} |`);
    for (const ref of built.failingRefs) expect(tighter.body).toContain(`| ${ref} |`);
  });

  test('with room for almost nothing, failing images remain as a list', () => {
    const built = estate(ESTATES.thirty);
    const { body, truncated } = renderComment(built.view, { marker, maxChars: 2_500 });
    expect(truncated).toBe(true);
    expect(body.length).toBeLessThanOrEqual(2_500);
    expect(body.startsWith(`${marker}\n### ❌ Image Scan Gate: fail`)).toBe(true);
    for (const ref of built.failingRefs) expect(body).toContain(ref);
  });

  test('a budget too small even for the list is cut, keeping the marker and the verdict', () => {
    const built = estate(ESTATES.threeHundredHalfFailing);
    const { body, truncated } = renderComment(built.view, { marker, maxChars: 1_500 });
    expect(truncated).toBe(true);
    expect(body.length).toBeLessThanOrEqual(1_500);
    expect(body.startsWith(`${marker}\n### ❌ Image Scan Gate: fail`)).toBe(true);
    expect(body).toMatch(/cut to fit GitHub’s comment size limit/);
  });
});

describe('renderComment content', () => {
  const critical = makeFinding({
    id: 'CVE-2024-0001',
    severity: 'CRITICAL',
    pkg: 'openssl',
    installed: '3.0.1-r0',
    fixed: '3.0.13-r0',
  });
  const high = makeFinding({ id: 'CVE-2024-0002', severity: 'HIGH', pkg: 'zlib', installed: '1.2.11' });
  const nginx = makeImage('docker.io/library/nginx:1.25', { findings: [critical, high] });
  const redis = makeImage('docker.io/library/redis:7', { findings: [] });
  const view = makeView({
    images: [redis, nginx],
    verdict: makeVerdict({
      result: 'fail',
      violations: [
        {
          rule: 'fail-on',
          image: nginx.target.ref,
          findings: ['CVE-2024-0001 (openssl)'],
          threshold: 'CRITICAL',
          message: 'nginx has a CRITICAL finding',
        },
        { rule: 'expired-ignore', findings: [], threshold: 'expired', message: 'CVE-2023-1 expired' },
      ],
    }),
    run: {
      serverUrl: 'https://github.example.com/',
      repository: 'acme/app',
      runId: 99,
      runAttempt: 1,
      jobSummaryUrl: 'https://github.example.com/acme/app/actions/runs/99/attempts/1#summary-1',
      securityTabUrl: 'https://github.example.com/acme/app/security/code-scanning',
      sha: 'abcdef0123456789',
    },
    dbUpdatedAt: new Date(NOW.getTime() - 3 * 3600_000).toISOString(),
  });
  const { body } = renderComment(view, { marker });

  test('the reasons name the rule, threshold, image and findings; run-wide reasons come first', () => {
    const why = body.slice(body.indexOf('**Why**'), body.indexOf('**Images**'));
    expect(why).toContain('- `expired-ignore` (expired)');
    expect(why).toContain('- `fail-on` (CRITICAL) — docker.io/library/nginx:1.25: `CVE-2024-0001 (openssl)`');
    expect(why.indexOf('expired-ignore')).toBeLessThan(why.indexOf('fail-on'));
  });

  test('per-image table: failing image first with its counts and rule, passing after', () => {
    const table = parseTables(body).find((t) => t.header[0] === 'Image')!;
    expect(table.header).toEqual(['Image', '🔴 C', '🟠 H', '🟡 M', '🔵 L', '⚪ U', 'Fixable', 'Verdict']);
    expect(table.rows[0]).toEqual([
      'docker.io/library/nginx:1.25',
      '1',
      '1',
      '0',
      '0',
      '0',
      '1',
      '❌ `fail-on`',
    ]);
    expect(table.rows[1][0]).toBe('docker.io/library/redis:7');
    expect(table.rows[1][7]).toBe('✅');
  });

  test('top fixable findings show the fixed version; unfixed ones are not offered as fixes', () => {
    const fix = body.slice(body.indexOf('**Fix these first**'));
    expect(fix).toContain(
      '🔴 [CVE-2024-0001](https://avd.aquasec.com/nvd/cve-2024-0001) in `openssl`: 3.0.1-r0 → 3.0.13-r0',
    );
    expect(fix).not.toContain('CVE-2024-0002');
  });

  test('links to the run, the job summary and the Security tab; Trivy facts and commit', () => {
    expect(body).toContain('[Run 99](https://github.example.com/acme/app/actions/runs/99/attempts/1)');
    expect(body).toContain(
      '[Job summary](https://github.example.com/acme/app/actions/runs/99/attempts/1#summary-1)',
    );
    expect(body).toContain('[Security tab](https://github.example.com/acme/app/security/code-scanning)');
    expect(body).toContain('Trivy 0.74.0 · DB updated 3 h ago · commit abcdef0');
  });

  test('without a Security tab URL (no SARIF upload) there is no Security tab link', () => {
    const noSarif = renderComment(
      { ...view, run: { ...view.run, securityTabUrl: undefined } },
      { marker },
    ).body;
    expect(noSarif).not.toContain('Security tab');
  });

  test('skipped images with their reason', () => {
    const withSkipped = structuredClone(view);
    withSkipped.now = view.now;
    withSkipped.results.skipped = [{ ref: 'ghcr.io/acme/old:1', reason: 'over max-images (500)' }];
    const out = renderComment(withSkipped, { marker }).body;
    expect(out).toContain('**Skipped** (1)\n\n- ghcr.io/acme/old:1 — over max-images (500)');
  });

  test('a passing run says so and has no reasons section', () => {
    const pass = renderComment(makeView({ images: [redis] }), { marker }).body;
    expect(pass).toContain('### ✅ Image Scan Gate: pass');
    expect(pass).toContain('**1 image**, no violations');
    expect(pass).not.toContain('**Why**');
  });

  test('untrusted text cannot break the table', () => {
    const odd = makeImage('registry.example.com/a|b:1', {
      findings: [makeFinding({ id: 'X|1', severity: 'HIGH', pkg: 'p|q\nr', fixed: '1|2' })],
    });
    const out = renderComment(
      makeView({
        images: [odd],
        verdict: makeVerdict({
          result: 'fail',
          violations: [
            { rule: 'a|b', image: odd.target.ref, findings: ['X|1'], threshold: '> 1', message: '' },
          ],
        }),
      }),
      { marker },
    ).body;
    expect(malformedRows(out)).toEqual([]);
    expect(parseTables(out)[0].rows[0][0]).toBe('registry.example.com/a\\|b:1');
  });
});

import { describe, expect, test } from 'vitest';
import { renderComment } from '../../src/report/comment.js';
import { codeSpan, escapeHtml, escapeText, verdictHeadline } from '../../src/report/markdown.js';
import { renderSummary } from '../../src/report/summary.js';
import type { Violation } from '../../src/model.js';
import { makeFinding, makeImage, makeVerdict, makeView } from './fixtures/render/build-view.js';
import { liveMentions, malformedRows } from './fixtures/render/markdown-tables.js';

// Text from reports and registries (image names, tags, IDs, package names, versions, errors) is untrusted: it must
// not notify anyone, inject markup or break the layout of the summary and the comment (../shared/SECURITY.md 4).

const marker = '<!-- image-scan-gate:image-scan key=0123456789abcdef -->';

describe('mentions', () => {
  test.each([
    ['@octocat', '@&#8203;octocat'],
    ['@acme/security-team', '@&#8203;acme/security-team'],
    ['fixed by @a and @b-c', 'fixed by @&#8203;a and @&#8203;b-c'],
    ['user@example.com', 'user@&#8203;example.com'],
    ['a @ b', 'a @ b'],
  ])('escapeText(%j) notifies nobody', (text, expected) => {
    expect(escapeText(text)).toBe(expected);
    expect(liveMentions(escapeText(text))).toEqual([]);
  });

  test('escapeHtml (for <summary>) breaks them too; code spans need nothing', () => {
    expect(escapeHtml('<b>@octocat</b>')).toBe('&lt;b&gt;@&#8203;octocat&lt;/b&gt;');
    expect(codeSpan('@octocat')).toBe('`@octocat`');
    expect(liveMentions(codeSpan('@acme/security-team'))).toEqual([]);
  });

  test('the helper itself finds what GitHub would link', () => {
    expect(liveMentions('hi @octocat, see @acme/security-team and `@not` this')).toEqual([
      '@octocat',
      '@acme/security-team',
    ]);
  });
});

/** One image whose every untrusted field is hostile. */
function hostileView(gate?: 'enforce' | 'warn' | 'off') {
  const ref = 'ghcr.io/acme/@octocat:1.0';
  const finding = makeFinding({
    id: '@acme/security-team</details><img src=x onerror=alert(1)>',
    severity: 'CRITICAL',
    pkg: '@acme/security-team',
    installed: '1.0\n::error::pwned',
    fixed: '<img src=x onerror=alert(1)> @octocat',
    title: '@octocat </details> <script>alert(1)</script>',
    url: 'javascript:alert(1)',
  });
  const image = makeImage(ref, { findings: [finding] });
  const failed = makeImage('ghcr.io/acme/broken@team:2', {
    status: 'failed',
    findings: [],
    error: 'pull refused by @octocat\n::stop-commands::x\n</details>',
  });
  const violation: Violation = {
    rule: 'fail-on',
    image: ref,
    findings: [`${finding.id} (${finding.pkg})`],
    threshold: 'CRITICAL',
    message: `${ref}: 1 finding at or above CRITICAL: ${finding.id} (@acme/security-team)`,
  };
  return makeView({
    images: [image, failed],
    gate,
    policyLines: ['images matching "@acme/*" (policy.yml:3): fail-on high'],
    verdict: makeVerdict({
      result: gate === 'warn' ? 'warn' : 'fail',
      violations: [violation],
      expiredIgnores: [
        { id: '@octocat', expires: '2026-01-01', source: 'policy.yml:9', reason: 'ask @acme/ops' },
      ],
      unusedIgnores: [{ id: 'CVE-1', source: '@octocat' }],
      imageRules: [{ match: '@acme/*', source: 'policy.yml:3', applied: 0, note: 'ping @octocat' }],
    }),
  });
}

describe.each([
  ['summary', (v: ReturnType<typeof hostileView>) => renderSummary(v).markdown],
  ['comment', (v: ReturnType<typeof hostileView>) => renderComment(v, { marker }).body],
])('the %s over hostile report fields', (_, render) => {
  const body = render(hostileView());

  test('no live @mention or team ping, though the names are shown', () => {
    expect(liveMentions(body)).toEqual([]);
    expect(body).toContain('@&#8203;octocat');
  });

  test('no raw HTML from the report, and no early </details>', () => {
    // Outside code, a `<` from the report is backslash-escaped (`\<img`) or an entity (`&lt;img`).
    const prose = body.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1`*[ \t]*$/gm, '').replace(/(`+)[\s\S]*?\1/g, '');
    expect(prose).not.toMatch(/(?<!\\)<(img|script)/i);
    const opened = body.match(/<details>/g)?.length ?? 0;
    expect(prose.match(/(?<!\\)<\/details>/g)?.length ?? 0).toBe(opened);
    expect(body).not.toContain('](javascript:');
  });

  test('no line of it starts a workflow command, and the tables stay intact', () => {
    const outsideCode = body.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1`*[ \t]*$/gm, '');
    expect(outsideCode).not.toMatch(/^\s*::/m);
    expect(malformedRows(body)).toEqual([]);
  });
});

describe('the headline says what happened', () => {
  test.each([
    ['enforce', 'fail', 1, 0, '❌ Image Scan Gate: fail', undefined],
    ['warn', 'warn', 2, 0, '⚠️ Image Scan Gate: warn', 'The gate is set to `warn`'],
    ['enforce', 'warn', 0, 1, '⚠️ Image Scan Gate: warn', '1 image could not be scanned'],
    ['off', 'fail', 3, 0, 'ℹ️ Image Scan Gate: not gated (the policy fails (3 violations))', '`gate: off`'],
    ['off', 'warn', 0, 2, 'ℹ️ Image Scan Gate: not gated (images were not checked)', 'does not fail'],
    ['off', 'pass', 0, 0, 'ℹ️ Image Scan Gate: not gated (the policy passes)', 'nothing here can fail'],
    ['enforce', 'pass', 0, 0, '✅ Image Scan Gate: pass', undefined],
  ] as const)('gate %s, result %s', (gate, result, violations, scanFailed, title, explanation) => {
    const h = verdictHeadline(result, gate, { violations, scanFailed });
    expect(h.title).toBe(title);
    if (explanation) expect(h.explanation).toContain(explanation);
    else expect(h.explanation).toBeUndefined();
  });

  // Was "✅ Image Scan Gate: pass" above a table of violations.
  test('gate: off with violations: "not gated" in the summary and the comment, never a pass', () => {
    const view = hostileView('off');
    const summary = renderSummary(view).markdown;
    const comment = renderComment(view, { marker }).body;
    expect(summary.split('\n')[0]).toMatch(/^## ℹ️ Image Scan Gate: not gated \(the policy fails/);
    expect(comment).toMatch(/^### ℹ️ Image Scan Gate: not gated \(the policy fails/m);
    for (const body of [summary, comment]) {
      expect(body).not.toMatch(/✅|Image Scan Gate: pass|❌/);
      expect(body).toContain('the step does not fail');
    }
  });

  // Was "The gate is set to `warn`: the policy is violated" under gate: enforce with no violation at all.
  test('a warn from images that could not be scanned says so, not that the gate is set to warn', () => {
    const failed = makeImage('ghcr.io/acme/broken:1', { status: 'failed', error: 'denied' });
    const view = makeView({
      images: [failed],
      verdict: makeVerdict({ result: 'warn', violations: [] }),
    });
    const summary = renderSummary(view).markdown;
    expect(summary).not.toContain('the policy is violated');
    expect(summary).toContain('1 image could not be scanned');
  });
});

describe('per-image rules in the summary', () => {
  test('every rule is listed with the images it applied to; an unused one is flagged with its note', () => {
    const view = makeView({
      images: [makeImage('docker.io/library/nginx:1.25')],
      verdict: makeVerdict({
        imageRules: [
          {
            match: 'nginx*',
            source: 'policy.yml:7',
            applied: 1,
            note: 'matches by the short name nginx:1.25; the image is reported as docker.io/library/nginx:1.25',
          },
          {
            match: 'docker.io/nginx*',
            source: 'policy.yml:9',
            applied: 0,
            note: 'matched no image; images are named like docker.io/library/nginx:1.25: "docker.io/library/nginx*" would match',
          },
        ],
      }),
    });
    const summary = renderSummary(view).markdown;
    expect(summary).toContain('**Per-image rules**');
    expect(summary).toMatch(/\| `nginx\*` \| policy\.yml:7 \| 1 \| matches by the short name nginx:1\.25/);
    expect(summary).toMatch(
      /\| `docker\.io\/nginx\*` \| policy\.yml:9 \| \*\*0 \(unused\)\*\* \| matched no image/,
    );
    expect(malformedRows(summary)).toEqual([]);
  });
});

describe('autolinks', () => {
  test.each([
    ['see https://evil.example/x', 'see https&#8203;://evil.example/x'],
    ['HTTP://EVIL', 'HTTP&#8203;://EVIL'],
    ['www.evil.example', 'www&#8203;.evil.example'],
    ['fixes #123 and acme/app#7', 'fixes \\#&#8203;123 and acme/app\\#&#8203;7'],
    ['GH-42', 'GH&#8203;-42'],
    ['@octocat#1', '@&#8203;octocat\\#&#8203;1'], // the entities themselves are left alone
    ['tag #latest', 'tag \\#latest'],
  ])('escapeText(%j) links nothing', (text, expected) => {
    expect(escapeText(text)).toBe(expected);
  });

  test('escapeHtml too', () => {
    expect(escapeHtml('https://x #1 www.y')).toBe('https&#8203;://x #&#8203;1 www&#8203;.y');
  });
});

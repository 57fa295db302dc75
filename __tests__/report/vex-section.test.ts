import { describe, expect, test } from 'vitest';
import type { AppliedIgnore } from '../../src/model.js';
import { renderComment } from '../../src/report/comment.js';
import { buildSarifFiles } from '../../src/report/sarif.js';
import { renderSummary } from '../../src/report/summary.js';
import { makeFinding, makeImage, makeVerdict, makeView } from './fixtures/render/build-view.js';
import { liveMentions, malformedRows, parseTables } from './fixtures/render/markdown-tables.js';

const marker = '<!-- image-scan-gate:image-scan key=0123456789abcdef -->';
const API = 'ghcr.io/acme/api:1.2';
const SSL = makeFinding({ id: 'CVE-2023-5363', severity: 'HIGH', pkg: 'libssl3' });
const CURL = makeFinding({ id: 'CVE-2023-38545', severity: 'CRITICAL', pkg: 'curl' });

function vexApplied(over: Partial<AppliedIgnore> = {}): AppliedIgnore {
  return {
    image: API,
    findingId: SSL.id,
    pkg: SSL.pkg,
    rule: '.vex/api.openvex.json statements[0]',
    reason: 'not_affected (vulnerable_code_not_in_execute_path): TLS ends at the proxy',
    vex: 'not_affected',
    ...over,
  };
}

function view(
  ignored: AppliedIgnore[],
  unused: { id: string; source: string; vex?: 'fixed' | 'not_affected' }[] = [],
) {
  return makeView({
    images: [makeImage(API, { findings: [SSL, CURL] })],
    verdict: makeVerdict({
      ignored: [
        ...ignored,
        { image: API, findingId: CURL.id, pkg: 'curl', rule: '.trivyignore:1', reason: 'policy ignore' },
      ],
      unusedIgnores: [...unused, { id: 'CVE-1', source: '.trivyignore:2' }],
    }),
  });
}

describe('summary', () => {
  test('a VEX section lists applied statements with their justification, and statements that matched nothing', () => {
    const { markdown } = renderSummary(
      view(
        [vexApplied()],
        [{ id: 'CVE-2024-0727', source: '.vex/api.openvex.json statements[1]', vex: 'fixed' }],
      ),
    );
    const vex = markdown.slice(markdown.indexOf('### VEX'));
    expect(vex).toContain('1 finding suppressed by 1 statement');
    const tables = parseTables(vex);
    expect(tables[0].header).toEqual(['ID', 'Packages', 'Images', 'Statement', 'Justification']);
    expect(tables[0].rows[0]).toEqual([
      '`CVE-2023-5363`',
      'libssl3',
      '1',
      '.vex/api.openvex.json statements\\[0\\]',
      'not\\_affected (vulnerable\\_code\\_not\\_in\\_execute\\_path): TLS ends at the proxy',
    ]);
    expect(vex).toContain('**Matched nothing**');
    expect(tables[1].rows).toEqual([['`CVE-2024-0727`', '.vex/api.openvex.json statements\\[1\\]']]);
    // The Ignores section keeps only the policy's and ignore file's entries.
    const ignores = markdown.slice(markdown.indexOf('### Ignores'), markdown.indexOf('### VEX'));
    expect(ignores).toContain('policy ignore');
    expect(ignores).toContain('.trivyignore:2');
    expect(ignores).not.toContain('openvex');
  });

  test('no VEX statement given: no VEX section', () => {
    expect(renderSummary(view([])).markdown).not.toContain('### VEX');
  });

  test('hostile justification text is inert: no mention, no markup, no broken row', () => {
    const hostile = vexApplied({
      reason: 'not_affected: @octocat <img src=x onerror=alert(1)> | col\n## heading ::error::x',
      rule: 'evil|name\n.json statements[0]',
    });
    const { markdown } = renderSummary(view([hostile]));
    expect(liveMentions(markdown)).toEqual([]);
    expect(malformedRows(markdown)).toEqual([]);
    expect(markdown).not.toMatch(/(?<!\\)<img/);
    expect(markdown).not.toMatch(/^## heading/m);
  });
});

describe('comment', () => {
  test('one VEX line: how many findings were suppressed and which IDs', () => {
    const { body } = renderComment(view([vexApplied(), vexApplied({ image: 'ghcr.io/acme/web:3' })]), {
      marker,
    });
    expect(body).toContain('**VEX**: 2 findings suppressed as not affected or fixed (`CVE-2023-5363`)');
  });

  test('no VEX: no line', () => {
    expect(renderComment(view([]), { marker }).body).not.toContain('**VEX**');
  });
});

test('SARIF: the VEX justification is the suppression justification', () => {
  const images = [makeImage(API, { findings: [SSL, CURL] })];
  const { files } = buildSarifFiles(images, {
    category: 'image-scan',
    severities: ['CRITICAL', 'HIGH'],
    suppressed: [vexApplied()],
    includeSuppressed: true,
    toolVersion: '0.1.0',
  });
  const results = files.flatMap((f) => f.runs.flatMap((r) => r.results));
  const ssl = results.find((r) => r.ruleId === SSL.id)!;
  expect(ssl.suppressions).toEqual([
    {
      kind: 'external',
      status: 'accepted',
      justification: 'not_affected (vulnerable_code_not_in_execute_path): TLS ends at the proxy',
    },
  ]);
  expect(results.find((r) => r.ruleId === CURL.id)!.suppressions).toBeUndefined();
  // By default (`sarif-include-ignored: false`) a VEX-suppressed finding is left out, like any ignored one.
  const byDefault = buildSarifFiles(images, {
    category: 'image-scan',
    severities: ['CRITICAL', 'HIGH'],
    suppressed: [vexApplied()],
    toolVersion: '0.1.0',
  }).files.flatMap((f) => f.runs.flatMap((r) => r.results));
  expect(byDefault.map((r) => r.ruleId)).toEqual([CURL.id]);
});

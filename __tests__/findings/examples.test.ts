import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { mergeResults } from '../../src/findings/merge-results.js';
import { readReportFile } from '../../src/findings/results-file.js';
import { effectivePolicy } from '../../src/policy/effective-policy.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { parsePolicyFile } from '../../src/policy/policy-file.js';
import { tryParseImageReference } from '../../src/targets/reference.js';
import { isFixable } from '../../src/model.js';
import { projectRoot } from '../../test-support/paths.js';

// examples/ feeds `npm run demo` (mode: report). These checks keep the demo meaningful: the reports parse, they are
// about the images the Dockerfile pulls in, and the policy gives a verdict a reader can follow.

const examples = path.join(projectRoot, 'examples');
const reportPaths = readdirSync(path.join(examples, 'reports'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => path.join(examples, 'reports', f));

async function demoImages() {
  const files = await Promise.all(reportPaths.map((p) => readReportFile(p)));
  expect(files.every((f) => f.kind === 'trivy-report')).toBe(true);
  return mergeResults(files.map((f) => f.results)).images;
}

describe('demo examples', () => {
  test('three raw Trivy reports, each of one image with a digest and an OS', async () => {
    const images = await demoImages();
    expect(images.map((i) => i.target.ref)).toEqual([
      'docker.io/library/alpine:3.20',
      'docker.io/library/nginx:1.25',
      'ghcr.io/acme/shop-api:2.4.1',
    ]);
    for (const image of images) {
      expect(image.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(image.os?.family).toBeTruthy();
      expect(image.trivyVersion).toBe('0.74.0');
    }
  });

  test('the reports show what the demo is meant to show', async () => {
    const [alpine, nginx, api] = await demoImages();
    expect(alpine.findings).toEqual([]);
    const critical = nginx.findings.filter((f) => f.severity === 'CRITICAL');
    expect(critical.length).toBeGreaterThan(0);
    expect(critical.every(isFixable)).toBe(true);
    expect(nginx.findings.some((f) => f.severity === 'HIGH' && !isFixable(f))).toBe(true);
    expect(nginx.findings.filter((f) => f.severity === 'MEDIUM').length).toBeGreaterThanOrEqual(2);
    expect(new Set(api.findings.map((f) => f.class))).toEqual(new Set(['os-pkgs', 'lang-pkgs']));
    expect(api.findings.some((f) => f.fixed?.includes(','))).toBe(true);
    expect(api.findings.some((f) => f.cvss?.version === '4')).toBe(true);
  });

  test('every image is named by a FROM line of the Dockerfile', async () => {
    const fromRefs = readFileSync(path.join(examples, 'Dockerfile'), 'utf8')
      .split('\n')
      .map((line) => /^FROM\s+(\S+)/i.exec(line)?.[1])
      .filter((r): r is string => r !== undefined)
      .map((r) => {
        const parsed = tryParseImageReference(r);
        if (!parsed.ok) throw new Error(parsed.reason);
        return parsed.value.ref;
      });
    const refs = (await demoImages()).map((i) => i.target.ref);
    expect(new Set(fromRefs)).toEqual(new Set(refs));
  });

  test('the policy parses; its ignore has a reason and an expiry far ahead; the verdict is explainable', async () => {
    const policy = parsePolicyFile(
      readFileSync(path.join(examples, 'policy.yml'), 'utf8'),
      'examples/policy.yml',
    );
    expect(policy.ignore).toHaveLength(1);
    expect(policy.ignore[0].reason).toBeTruthy();
    expect(Date.parse(String(policy.ignore[0].expires))).toBeGreaterThan(Date.parse('2029-12-31'));

    const images = await demoImages();
    const now = new Date('2026-08-14T12:00:00Z');
    const verdict = evaluatePolicy(
      images,
      effectivePolicy(policy, { max: {}, gate: 'enforce' }),
      policy.ignore,
      now,
    );
    expect(verdict.result).toBe('fail');
    const failing = new Set(verdict.violations.map((v) => v.image));
    // nginx: a fixable CRITICAL; shop-api: fixable HIGHs in npm packages; alpine: nothing at all.
    expect(failing).toEqual(new Set(['docker.io/library/nginx:1.25', 'ghcr.io/acme/shop-api:2.4.1']));
    // The HTTP/2 finding in shop-api is ignored with the policy's reason.
    expect(verdict.ignored.map((i) => [i.image, i.findingId])).toEqual([
      ['ghcr.io/acme/shop-api:2.4.1', 'CVE-2023-44487'],
    ]);
    // ignore-unfixed: the unfixed HIGH in nginx is shown but raises nothing.
    const nginxViolations = verdict.violations.filter((v) => v.image === 'docker.io/library/nginx:1.25');
    expect(nginxViolations.flatMap((v) => v.findings).join(' ')).not.toContain('CVE-2023-52425');
  });
});

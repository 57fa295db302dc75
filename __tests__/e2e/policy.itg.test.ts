import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { projectRoot } from '../../test-support/paths.js';
import { runAction } from '../../test-support/run-action.js';
import { tempDir } from './fixtures.js';

// The policy gate through the bundle, in mode: report over the example nginx report (a fixable CRITICAL
// CVE-2024-45491 in libexpat1, an unfixed HIGH). The clock is pinned with IMAGE_SCAN_GATE_NOW.

function workspace(policy: string): string {
  const ws = tempDir('isg-policy-');
  fs.mkdirSync(path.join(ws, 'reports'));
  fs.copyFileSync(
    path.join(projectRoot, 'examples/reports/nginx-1.25.json'),
    path.join(ws, 'reports/nginx.json'),
  );
  fs.writeFileSync(path.join(ws, 'policy.yml'), policy);
  return ws;
}

const POLICY = `fail-on: high
ignore-unfixed: true
ignore:
  - id: CVE-2024-45491
    packages: [libexpat1]
    reason: not reachable from our code paths
    expires: 2026-12-31
`;

const inputs = { mode: 'report', reports: 'reports/*.json', policy: 'policy.yml', 'upload-sarif': 'false' };

describe('an ignore that expires between two runs', () => {
  test('flips the verdict at the UTC date boundary and says why', async () => {
    const ws = workspace(POLICY);
    const before = await runAction({
      inputs,
      dirs: { workspace: ws },
      env: { IMAGE_SCAN_GATE_NOW: '2026-12-31T23:59:59Z' },
    });
    expect(before.exitCode, before.stdout).toBe(0);
    expect(before.outputs.result).toBe('pass');
    expect(before.outputs.violations).toBe('0');
    const beforeResults = JSON.parse(fs.readFileSync(before.outputs['results-file'], 'utf8'));
    expect(beforeResults.verdict.ignored.map((i: { findingId: string }) => i.findingId)).toEqual([
      'CVE-2024-45491',
    ]);

    const after = await runAction({
      inputs,
      dirs: { workspace: ws },
      env: { IMAGE_SCAN_GATE_NOW: '2027-01-01T00:00:00Z' },
    });
    expect(after.exitCode).toBe(1);
    expect(after.outputs.result).toBe('fail');
    expect(Number(after.outputs.violations)).toBeGreaterThanOrEqual(1);
    // Says why: the failing finding, and that its ignore expired.
    expect(after.stdout).toContain('CVE-2024-45491');
    expect(after.stdout).toMatch(/expired|no longer/i);
    expect(after.summary).toMatch(/expired/i);
    const afterResults = JSON.parse(fs.readFileSync(after.outputs['results-file'], 'utf8'));
    expect(afterResults.verdict.expiredIgnores.map((e: { id: string }) => e.id)).toEqual(['CVE-2024-45491']);
  }, 60_000);

  test('expired-ignores: fail turns the expiry itself into a violation', async () => {
    const ws = workspace(
      `expired-ignores: fail\nfail-on: critical\nignore:\n  - id: CVE-1999-0001\n    expires: 2026-01-01\n`,
    );
    const run = await runAction({
      inputs,
      dirs: { workspace: ws },
      env: { IMAGE_SCAN_GATE_NOW: '2026-06-01T00:00:00Z' },
    });
    const results = JSON.parse(fs.readFileSync(run.outputs['results-file'], 'utf8'));
    const rules = results.verdict.violations.map((v: { rule: string }) => v.rule);
    expect(rules).toContain('expired-ignore');
    expect(run.exitCode).toBe(1);
  }, 60_000);

  test('gate: warn reports the same violations without failing the step', async () => {
    const ws = workspace(POLICY);
    const run = await runAction({
      inputs: { ...inputs, gate: 'warn' },
      dirs: { workspace: ws },
      env: { IMAGE_SCAN_GATE_NOW: '2027-03-01T00:00:00Z' },
    });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.result).toBe('warn');
    expect(run.stdout).toMatch(/::warning::Image Scan Gate: the policy would fail/);
  }, 60_000);
});

describe('a malformed policy file', () => {
  test('is refused with file, line and key before any download or scan', async () => {
    const ws = workspace('fail-on: high\nmax:\n  critcal: 0\n');
    const run = await runAction({
      inputs: {
        images: 'alpine:3.20',
        policy: 'policy.yml',
        'trivy-download-url': 'http://127.0.0.1:9/never',
      },
      dirs: { workspace: ws },
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/::error::.*policy\.yml:3:3.*critcal/);
    expect(run.stdout).not.toMatch(/Downloading Trivy/);
    expect(run.outputs.result).toBeUndefined();
  }, 60_000);
});

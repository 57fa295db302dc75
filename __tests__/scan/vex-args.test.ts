import { expect, test } from 'vitest';
import { buildScanArgs } from '../../src/scan/trivy-args.js';

const base = {
  cacheDir: '/tmp/c',
  outputFile: '/tmp/r.json',
  timeoutMs: 600_000,
  scanners: ['vuln'],
  pkgTypes: ['os', 'library'],
  configFile: '/tmp/iso/trivy.yaml',
  ignoreFile: '/tmp/iso/.trivyignore',
};

test('vex: repo / oci reach Trivy as one --vex list, in priority order, before the reference', () => {
  const args = buildScanArgs('ghcr.io/acme/app:1', { ...base, vexSources: ['oci', 'repo'] });
  expect(args.filter((a) => a === '--vex')).toHaveLength(1);
  expect(args[args.indexOf('--vex') + 1]).toBe('oci,repo');
  expect(args.indexOf('--vex')).toBeLessThan(args.indexOf('--'));
});

test('no Trivy VEX source: no --vex flag (VEX documents are applied by the action, not Trivy)', () => {
  expect(buildScanArgs('ghcr.io/acme/app:1', base)).not.toContain('--vex');
  expect(buildScanArgs('ghcr.io/acme/app:1', { ...base, vexSources: [] })).not.toContain('--vex');
});

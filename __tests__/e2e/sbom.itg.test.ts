import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ResultsFile } from '../../src/model.js';
import { cycloneDxSchemaErrors } from '../../test-support/cyclonedx-schema.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction } from '../../test-support/run-action.js';
import { readStandinLog, scansIn, tempDir } from './fixtures.js';

// `sbom`, run as the runner runs it: one SBOM per image in output-dir/sbom/, from the one Trivy scan (asked for its
// package list), valid against CycloneDX's schema; the `sbom-files` output names them; a reused result without a
// package list is scanned again rather than leaving an image without its SBOM.

let registry: TestRegistry;
let mirror: ReleaseMirror;
let digest: string;
let imageRef: string;

beforeAll(async () => {
  [registry, mirror] = await Promise.all([startRegistry(), startReleaseMirror()]);
  imageRef = `${registry.host}/shop/web:2.0`;
  ({ digest } = await registry.push('shop/web', '2.0', {
    labels: { 'standin.report': 'node-app' },
    layerContent: 'web',
    created: '2026-10-01T08:00:00Z',
  }));
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

async function scan(workspace: string, inputs: Record<string, string>) {
  const log = path.join(tempDir('isg-sbom-log-'), 'standin.log');
  const run = await runAction({
    inputs: {
      images: imageRef,
      'trivy-download-url': mirror.baseUrl,
      'trivy-checksum': mirror.sha256,
      'fail-on': 'none',
      ...inputs,
    },
    env: { ...registry.env, STANDIN_LOG: log },
    dirs: { workspace },
  });
  const results = JSON.parse(fs.readFileSync(run.outputs['results-file'], 'utf8')) as ResultsFile;
  return { run, scans: scansIn(readStandinLog(log)), results };
}

/** Packages the stand-in's template lists, counted from the raw JSON (independent of the action's parser). */
function templatePurls(): string[] {
  const raw = JSON.parse(
    fs.readFileSync(
      path.join(import.meta.dirname, '../../test-support/trivy-standin/reports/node-app.json'),
      'utf8',
    ),
  ) as { Results: { Packages?: { Identifier?: { PURL?: string } }[] }[] };
  return raw.Results.flatMap((r) => (r.Packages ?? []).map((p) => p.Identifier?.PURL ?? '')).sort();
}

test('sbom: cyclonedx writes one schema-valid SBOM per image from the one scan, listed in sbom-files', async () => {
  const workspace = tempDir('isg-sbom-ws-');
  const { run, scans } = await scan(workspace, { sbom: 'cyclonedx' });
  expect(run.exitCode, run.stdout + run.stderr).toBe(0);
  // One scan, asked for the package list.
  expect(scans).toHaveLength(1);
  expect(scans[0].argv).toContain('--list-all-pkgs=true');
  const files = JSON.parse(run.outputs['sbom-files']) as string[];
  expect(files).toHaveLength(1);
  expect(path.dirname(files[0])).toBe(path.join(workspace, 'image-scan-results', 'sbom'));
  const bom = JSON.parse(fs.readFileSync(files[0], 'utf8'));
  expect(cycloneDxSchemaErrors(bom)).toEqual([]);
  expect(bom.metadata.component.version).toBe(digest);
  expect(bom.metadata.component.purl).toContain(`pkg:oci/web@${digest}`);
  expect(bom.components.map((c: { purl: string }) => c.purl).sort()).toEqual(templatePurls());
}, 240_000);

test('sbom: spdx; and a reused result without packages is scanned again, one with packages is reused', async () => {
  const workspace = tempDir('isg-sbom-ws-');
  // An earlier run without `sbom`: its results carry no package list.
  const plain = await scan(workspace, {});
  expect(plain.run.outputs['sbom-files'] ?? '').toBe('');
  fs.mkdirSync(path.join(workspace, 'earlier'));
  fs.copyFileSync(plain.run.outputs['results-file'], path.join(workspace, 'earlier', 'plain.json'));

  const spdx = await scan(workspace, { sbom: 'spdx', reports: 'earlier/plain.json' });
  expect(spdx.run.exitCode, spdx.run.stdout).toBe(0);
  expect(spdx.scans).toHaveLength(1);
  const [file] = JSON.parse(spdx.run.outputs['sbom-files']) as string[];
  expect(file).toMatch(/\.spdx\.json$/);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  expect(doc.spdxVersion).toBe('SPDX-2.3');
  const purls = doc.packages
    .slice(1)
    .map((p: { externalRefs: { referenceLocator: string }[] }) => p.externalRefs[0].referenceLocator)
    .sort();
  expect(purls).toEqual(templatePurls());

  // Results made with `sbom` keep the package list: reused (same DB build), the SBOM is still written.
  fs.copyFileSync(spdx.run.outputs['results-file'], path.join(workspace, 'earlier', 'with-packages.json'));
  const reused = await scan(workspace, { sbom: 'cyclonedx', reports: 'earlier/with-packages.json' });
  if (reused.results.dbUpdatedAt === spdx.results.dbUpdatedAt) expect(reused.scans).toHaveLength(0);
  const [again] = JSON.parse(reused.run.outputs['sbom-files']) as string[];
  const bom = JSON.parse(fs.readFileSync(again, 'utf8'));
  expect(bom.components.map((c: { purl: string }) => c.purl).sort()).toEqual(templatePurls());
}, 360_000);

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseTrivyPackages } from '../../src/findings/trivy-packages.js';
import type { ImageResult, InstalledPackage } from '../../src/model.js';
import { imagePurl, renderSbom, sbomFileName } from '../../src/report/sbom.js';
import { cycloneDxSchemaErrors } from '../../test-support/cyclonedx-schema.js';
import { projectRoot } from '../../test-support/paths.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function image(packages: InstalledPackage[] | undefined, ref = 'ghcr.io/acme/api:1.2'): ImageResult {
  return {
    target: {
      ref,
      input: ref,
      registry: 'ghcr.io',
      repository: 'acme/api',
      tag: '1.2',
      origins: [],
      sources: ['listed'],
    },
    digest: DIGEST,
    status: 'scanned',
    findings: [],
    ...(packages && { packages }),
    trivyVersion: '0.74.0',
  };
}

const PACKAGES: InstalledPackage[] = [
  {
    name: 'curl',
    version: '8.3.0-r0',
    purl: 'pkg:apk/alpine/curl@8.3.0-r0?arch=x86_64',
    type: 'alpine',
    target: 'img (alpine 3.18)',
  },
  {
    name: '@babel/core',
    version: '7.23.0',
    purl: 'pkg:npm/%40babel/core@7.23.0',
    type: 'npm',
    target: 'app/package-lock.json',
    pkgPath: 'app/node_modules/@babel/core/package.json',
  },
  // The same package found in two places stays two components.
  {
    name: 'lodash',
    version: '4.17.21',
    purl: 'pkg:npm/lodash@4.17.21',
    type: 'npm',
    target: 'a/package-lock.json',
  },
  {
    name: 'lodash',
    version: '4.17.21',
    purl: 'pkg:npm/lodash@4.17.21',
    type: 'npm',
    target: 'b/package-lock.json',
  },
  // A purl the spec refuses: the package is kept, without it.
  { name: 'weird', version: '1', purl: 'pkg:/broken', type: 'npm', target: 'c/package-lock.json' },
];
const opts = { toolVersion: '1.2.3', createdAt: '2026-10-01T08:00:00.000Z' };

test('parseTrivyPackages reads a Trivy report’s Packages[] with their purls and places', () => {
  const report = JSON.parse(
    fs.readFileSync(path.join(projectRoot, 'test-support/trivy-standin/reports/node-app.json'), 'utf8'),
  );
  const packages = parseTrivyPackages(report);
  const expected = (
    report.Results as { Target: string; Packages?: { Name: string; Identifier?: { PURL?: string } }[] }[]
  ).flatMap((r) => (r.Packages ?? []).map((p) => `${p.Name} ${p.Identifier?.PURL} ${r.Target}`));
  expect(packages.map((p) => `${p.name} ${p.purl} ${p.target}`)).toEqual(expected);
  expect(packages.length).toBeGreaterThan(2);
  expect(parseTrivyPackages({ Results: [{ Target: 'x', Packages: [null, { Version: '1' }, 'x'] }] })).toEqual(
    [],
  );
  expect(parseTrivyPackages('nonsense')).toEqual([]);
});

describe('CycloneDX', () => {
  const bom = JSON.parse(renderSbom(image(PACKAGES), 'cyclonedx', opts));

  test('valid against the CycloneDX 1.6 JSON schema', () => {
    expect(cycloneDxSchemaErrors(bom)).toEqual([]);
    expect(bom.specVersion).toBe('1.6');
  }, 60_000);

  test('the image is the subject, with a pkg:oci purl of its digest; every package depends from it', () => {
    expect(bom.metadata.component).toMatchObject({
      type: 'container',
      name: 'ghcr.io/acme/api:1.2',
      version: DIGEST,
      purl: imagePurl(image(PACKAGES)),
    });
    expect(bom.metadata.component.purl).toBe(
      `pkg:oci/api@sha256:${'ab'.repeat(32)}?repository_url=ghcr.io%2Facme%2Fapi&tag=1.2`,
    );
    expect(bom.components.map((c: { name: string }) => c.name).sort()).toEqual(
      ['@babel/core', 'curl', 'lodash', 'lodash', 'weird'].sort(),
    );
    expect(bom.components.find((c: { name: string }) => c.name === 'curl').purl).toBe(
      'pkg:apk/alpine/curl@8.3.0-r0?arch=x86_64',
    );
    expect(bom.components.find((c: { name: string }) => c.name === 'weird').purl).toBeUndefined();
    const root = bom.dependencies.find((d: { ref: string }) => d.ref === 'image');
    expect(root.dependsOn).toHaveLength(PACKAGES.length);
  });

  test('deterministic: the same image gives the same document', () => {
    expect(renderSbom(image(PACKAGES), 'cyclonedx', opts)).toBe(
      renderSbom(image(PACKAGES), 'cyclonedx', opts),
    );
    expect(bom.serialNumber).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('SPDX', () => {
  const doc = JSON.parse(renderSbom(image(PACKAGES), 'spdx', opts));

  test('SPDX 2.3 shape: document describes the image, the image contains every package', () => {
    expect(doc).toMatchObject({
      spdxVersion: 'SPDX-2.3',
      dataLicense: 'CC0-1.0',
      SPDXID: 'SPDXRef-DOCUMENT',
    });
    expect(doc.creationInfo).toEqual({
      created: '2026-10-01T08:00:00Z',
      creators: ['Tool: image-scan-gate-1.2.3', 'Tool: trivy-0.74.0'],
    });
    const ids = doc.packages.map((p: { SPDXID: string }) => p.SPDXID);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    expect(doc.packages[0]).toMatchObject({ SPDXID: 'SPDXRef-Image', primaryPackagePurpose: 'CONTAINER' });
    expect(doc.relationships[0]).toEqual({
      spdxElementId: 'SPDXRef-DOCUMENT',
      relationshipType: 'DESCRIBES',
      relatedSpdxElement: 'SPDXRef-Image',
    });
    const contained = doc.relationships.filter(
      (r: { relationshipType: string }) => r.relationshipType === 'CONTAINS',
    );
    expect(contained).toHaveLength(PACKAGES.length);
    const curl = doc.packages.find((p: { name: string }) => p.name === 'curl');
    expect(curl.externalRefs).toEqual([
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: 'pkg:apk/alpine/curl@8.3.0-r0?arch=x86_64',
      },
    ]);
    for (const p of doc.packages)
      expect(p).toMatchObject({ downloadLocation: 'NOASSERTION', filesAnalyzed: false });
  });
});

test('file names: the reference made safe, plus the digest, per format', () => {
  expect(sbomFileName(image([]), 'cyclonedx')).toBe(`ghcr.io_acme_api_1.2_${'ab'.repeat(6)}.cdx.json`);
  expect(sbomFileName(image([], 'ghcr.io/acme/../../etc:x'), 'spdx')).toBe(
    `ghcr.io_acme_.._.._etc_x_${'ab'.repeat(6)}.spdx.json`,
  );
  expect(sbomFileName(image([], 'ghcr.io/acme/../../etc:x'), 'spdx')).not.toContain('/');
});

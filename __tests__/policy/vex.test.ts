import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import type { Finding, ImageResult } from '../../src/model.js';
import { effectivePolicy } from '../../src/policy/effective-policy.js';
import { evaluatePolicy, suppressionLookup } from '../../src/policy/evaluate.js';
import { loadGatePolicy } from '../../src/policy/load-policy.js';
import { parseVexDocument } from '../../src/policy/vex.js';
import { cycloneDxSchemaErrors } from '../../test-support/cyclonedx-schema.js';
import {
  csafVexDocument,
  cycloneDxVexDocument,
  ociPurl,
  openVexDocument,
  type VexStatementSpec,
} from '../../test-support/vex-documents.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER_DIGEST = `sha256:${'b'.repeat(64)}`;
const NOW = new Date('2026-06-01T00:00:00Z');

function image(ref: string, digest: string, findings: Finding[], tags: string[] = []): ImageResult {
  const m = /^([^/]+)\/(.+?):([^:@/]+)$/.exec(ref)!;
  return {
    target: {
      ref,
      input: ref,
      registry: m[1],
      repository: m[2],
      tag: m[3],
      tags,
      origins: [],
      sources: ['listed'],
    },
    digest,
    status: 'scanned',
    findings,
  };
}

function vuln(id: string, pkg: string, purl: string, over: Partial<Finding> = {}): Finding {
  return { id, pkg, purl, severity: 'CRITICAL', class: 'os-pkgs', target: 'img (alpine 3.18)', ...over };
}

const CURL = vuln('CVE-2023-38545', 'curl', 'pkg:apk/alpine/curl@8.3.0-r0?arch=x86_64');
const SSL = vuln('CVE-2023-5363', 'libssl3', 'pkg:apk/alpine/libssl3@3.1.3-r0');
const CRYPTO = vuln('CVE-2023-5363', 'libcrypto3', 'pkg:apk/alpine/libcrypto3@3.1.3-r0');
const APP = 'ghcr.io/acme/app:1.0';

function suppressed(doc: object, images: ImageResult[], file = 'vex.json') {
  const rules = parseVexDocument(JSON.stringify(doc), file).rules;
  const verdict = evaluatePolicy(
    images,
    effectivePolicy(undefined, { max: {}, gate: 'enforce' }),
    rules,
    NOW,
  );
  return {
    verdict,
    ignored: verdict.ignored.map((i) => `${i.image} ${i.findingId} ${i.pkg}`),
    unused: verdict.unusedIgnores.map((u) => u.source),
  };
}

const builders: [string, (image: string | undefined, s: VexStatementSpec[]) => object][] = [
  ['OpenVEX', (img, s) => openVexDocument(s.map((x) => ({ ...x, image: x.image ?? img })))],
  ['CycloneDX', (img, s) => cycloneDxVexDocument(img, s)],
  ['CSAF', (img, s) => csafVexDocument(img!, s)],
];

describe.each(builders)('%s', (format, build) => {
  const img = ociPurl('ghcr.io/acme/app', DIGEST);

  test('not_affected for a package of the image suppresses that finding, with the justification as reason', () => {
    const doc = build(img, [
      {
        id: 'CVE-2023-5363',
        packages: ['pkg:apk/alpine/libssl3@3.1.3-r0'],
        status: 'not_affected',
        justification: 'vulnerable_code_not_in_execute_path',
        impact: 'TLS is terminated by the proxy',
      },
    ]);
    expect(parseVexDocument(JSON.stringify(doc), 'v.json').format).toBe(format);
    const { verdict, ignored } = suppressed(doc, [image(APP, DIGEST, [CURL, SSL, CRYPTO])]);
    expect(ignored).toEqual([`${APP} CVE-2023-5363 libssl3`]);
    expect(verdict.ignored[0]).toMatchObject({
      vex: 'not_affected',
      reason: 'not_affected (vulnerable_code_not_in_execute_path): TLS is terminated by the proxy',
    });
    // libcrypto3 has the same CVE but is not named: it still counts.
    expect(verdict.violations[0].findings).toContain('CVE-2023-5363 (libcrypto3)');
    const lookup = suppressionLookup(verdict);
    expect(lookup(APP, SSL)?.reason).toContain('TLS is terminated by the proxy');
    expect(lookup(APP, CRYPTO)).toBeUndefined();
  });

  test('fixed suppresses; affected and under_investigation suppress nothing', () => {
    const doc = build(img, [
      { id: 'CVE-2023-38545', packages: ['pkg:apk/alpine/curl'], status: 'fixed' },
      { id: 'CVE-2023-5363', packages: ['pkg:apk/alpine/libssl3'], status: 'affected' },
      { id: 'CVE-2023-5363', packages: ['pkg:apk/alpine/libcrypto3'], status: 'under_investigation' },
    ]);
    const { ignored, verdict } = suppressed(doc, [image(APP, DIGEST, [CURL, SSL, CRYPTO])]);
    expect(ignored).toEqual([`${APP} CVE-2023-38545 curl`]);
    expect(verdict.ignored[0].vex).toBe('fixed');
    expect(parseVexDocument(JSON.stringify(doc), 'v.json').rules).toHaveLength(1);
  });

  test('a statement about another digest matches nothing and is listed as unused', () => {
    const doc = build(ociPurl('ghcr.io/acme/app', OTHER_DIGEST), [
      { id: 'CVE-2023-38545', packages: ['pkg:apk/alpine/curl'], status: 'not_affected' },
    ]);
    const { ignored, unused, verdict } = suppressed(doc, [image(APP, DIGEST, [CURL])]);
    expect(ignored).toEqual([]);
    expect(unused).toHaveLength(1);
    expect(verdict.unusedIgnores[0].vex).toBe('not_affected');
  });
});

test('the generated CycloneDX VEX is valid against the CycloneDX 1.6 JSON schema', () => {
  const doc = cycloneDxVexDocument(ociPurl('ghcr.io/acme/app', DIGEST), [
    {
      id: 'CVE-2023-5363',
      aliases: ['GHSA-xxxx-yyyy-zzzz'],
      packages: ['pkg:apk/alpine/libssl3@3.1.3-r0'],
      status: 'not_affected',
      justification: 'code_not_reachable',
      impact: 'not used',
    },
    { id: 'CVE-2023-38545', packages: ['pkg:apk/alpine/curl@8.3.0-r0'], status: 'fixed' },
  ]);
  expect(cycloneDxSchemaErrors(doc)).toEqual([]);
  // The validator is real: a state CycloneDX does not define is refused.
  const bad = structuredClone(doc) as { vulnerabilities: { analysis: { state: string } }[] };
  bad.vulnerabilities[0].analysis.state = 'not-affected';
  expect(cycloneDxSchemaErrors(bad).join('\n')).toMatch(/analysis\/state/);
}, 60_000);

describe('which image a product names', () => {
  const images = [
    image(APP, DIGEST, [CURL]),
    image('ghcr.io/acme/app:2.0', OTHER_DIGEST, [CURL]),
    image('docker.io/library/alpine:3.18', `sha256:${'c'.repeat(64)}`, [CURL], ['3']),
  ];
  const statement = (product: string, subcomponents?: string[]) => ({
    '@context': 'https://openvex.dev/ns/v0.2.0',
    statements: [
      {
        vulnerability: { name: 'CVE-2023-38545' },
        products: [
          {
            '@id': product,
            ...(subcomponents && { subcomponents: subcomponents.map((s) => ({ '@id': s })) }),
          },
        ],
        status: 'not_affected',
        justification: 'component_not_present',
      },
    ],
  });
  test.each([
    ['purl with digest', ociPurl('ghcr.io/acme/app', DIGEST), [APP]],
    ['purl, repository only', ociPurl('ghcr.io/acme/app'), [APP, 'ghcr.io/acme/app:2.0']],
    [
      'purl, repository and tag',
      ociPurl('ghcr.io/acme/app', undefined, { tag: '2.0' }),
      ['ghcr.io/acme/app:2.0'],
    ],
    ['purl by name only', 'pkg:oci/app', [APP, 'ghcr.io/acme/app:2.0']],
    [
      'purl on Docker Hub, index.docker.io spelling',
      ociPurl('index.docker.io/library/alpine'),
      ['docker.io/library/alpine:3.18'],
    ],
    [
      'purl naming another tag of the same digest',
      ociPurl('docker.io/library/alpine', undefined, { tag: '3' }),
      ['docker.io/library/alpine:3.18'],
    ],
    ['purl of another repository', ociPurl('ghcr.io/acme/other', DIGEST), []],
    ['image reference, any tag', 'ghcr.io/acme/app', [APP, 'ghcr.io/acme/app:2.0']],
    ['image reference with tag', 'ghcr.io/acme/app:2.0', ['ghcr.io/acme/app:2.0']],
    ['image reference with digest', `ghcr.io/acme/app@${OTHER_DIGEST}`, ['ghcr.io/acme/app:2.0']],
    ['bare digest', DIGEST, [APP]],
    [
      'a package purl: that package in every image',
      'pkg:apk/alpine/curl',
      [APP, 'ghcr.io/acme/app:2.0', 'docker.io/library/alpine:3.18'],
    ],
    ['a package purl with another version', 'pkg:apk/alpine/curl@9.0.0-r0', []],
    ['an IRI', 'https://acme.example/products/app', []],
  ])('%s', (_name, product, expected) => {
    const { ignored } = suppressed(statement(product), images);
    expect(ignored.map((i) => i.split(' ')[0]).sort()).toEqual([...expected].sort());
  });
  test('subcomponents narrow to packages; a subcomponent qualifier must be present on the package', () => {
    const both = [
      image(APP, DIGEST, [CURL, vuln('CVE-2023-38545', 'libcurl', 'pkg:apk/alpine/libcurl@8.3.0-r0')]),
    ];
    expect(
      suppressed(statement(ociPurl('ghcr.io/acme/app'), ['pkg:apk/alpine/libcurl']), both).ignored,
    ).toEqual([`${APP} CVE-2023-38545 libcurl`]);
    expect(
      suppressed(statement(ociPurl('ghcr.io/acme/app'), ['pkg:apk/alpine/curl?arch=aarch64']), both).ignored,
    ).toEqual([]);
  });
});

test('aliases: a statement for a GHSA suppresses the finding reported under its CVE, and the reverse', () => {
  const doc = openVexDocument([
    {
      id: 'GHSA-aaaa-bbbb-cccc',
      aliases: ['CVE-2023-38545'],
      image: ociPurl('ghcr.io/acme/app'),
      status: 'not_affected',
    },
  ]);
  expect(suppressed(doc, [image(APP, DIGEST, [CURL])]).ignored).toEqual([`${APP} CVE-2023-38545 curl`]);
  const reverse = openVexDocument([
    { id: 'CVE-2024-1', image: ociPurl('ghcr.io/acme/app'), status: 'not_affected' },
  ]);
  const aliased = vuln('GHSA-xxxx', 'lib', 'pkg:npm/lib@1', { aliases: ['CVE-2024-1'] });
  expect(suppressed(reverse, [image(APP, DIGEST, [aliased])]).ignored).toEqual([`${APP} GHSA-xxxx lib`]);
});

test('OpenVEX v0.0.1: string vulnerability, string products, statement-level subcomponents', () => {
  const doc = {
    '@context': 'https://openvex.dev/ns',
    statements: [
      {
        vulnerability: 'CVE-2023-38545',
        products: [ociPurl('ghcr.io/acme/app')],
        subcomponents: ['pkg:apk/alpine/curl'],
        status: 'not_affected',
        justification: 'vulnerable_code_not_present',
      },
    ],
  };
  // v0.0.1's @context has no version, but names openvex.
  expect(suppressed(doc, [image(APP, DIGEST, [CURL, SSL])]).ignored).toEqual([`${APP} CVE-2023-38545 curl`]);
});

test('VEX never suppresses secrets or misconfigurations that share an ID', () => {
  const doc = openVexDocument([
    { id: 'DS-0002', image: ociPurl('ghcr.io/acme/app'), status: 'not_affected' },
  ]);
  const config: Finding = { id: 'DS-0002', pkg: '', severity: 'HIGH', class: 'config', target: 'Dockerfile' };
  expect(suppressed(doc, [image(APP, DIGEST, [config])]).ignored).toEqual([]);
});

test('a pkg:oci product whose repository_url is not a repository matches nothing', () => {
  const doc = openVexDocument([
    { id: 'CVE-2023-38545', image: 'pkg:oci/app?repository_url=UPPER/Case!!', status: 'not_affected' },
  ]);
  expect(suppressed(doc, [image(APP, DIGEST, [CURL])]).ignored).toEqual([]);
});

describe('malformed documents', () => {
  test.each([
    ['{"statements": [', /`vex`: "bad\.json" is not valid JSON \(it ends before the JSON does\)/],
    ['{\n  "a": 1,\n  oops\n}', /`vex`: "bad\.json" is not valid JSON \(syntax error at line 3, column 3\)/],
    ['[]', /not a VEX document: the document is not a JSON object/],
    ['{"bomFormat": "SPDX"}', /not a VEX document: it is neither OpenVEX/],
    [
      '{"document": {"csaf_version": "2.0", "category": "csaf_security_advisory"}}',
      /CSAF category is "csaf_security_advisory"/,
    ],
    [
      '{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "x"}], "status": "maybe"}]}',
      /statements\[0\]\.status: expected not_affected, affected/,
    ],
    [
      '{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {}, "products": [], "status": "fixed"}]}',
      /statements\[0\]\.vulnerability: expected a vulnerability name/,
    ],
    [
      '{"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "nope"}, "affects": []}]}',
      /vulnerabilities\[0\]\.analysis\.state/,
    ],
  ])('%s', (text, message) => {
    const thrown = (() => {
      try {
        parseVexDocument(text, 'bad.json');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as ConfigurationError).input).toBe('vex');
    expect((thrown as Error).message).toMatch(message);
  });

  test('the error never quotes the document (it may hold anything)', () => {
    expect(() => parseVexDocument('{"secret-looking": ROOT:x:0:0}', 'bad.json')).toThrow(
      /^(?!.*ROOT:x).*is not valid JSON \(syntax error/,
    );
  });
});

const MAX_DOCUMENTS = 200; // vex-files.ts

describe('loading the vex input', () => {
  async function workspace(files: Record<string, string>): Promise<string> {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'vex-'));
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(ws, name)), { recursive: true });
      await writeFile(path.join(ws, name), text);
    }
    return ws;
  }
  const gate = { max: {}, gate: 'enforce' as const };
  const doc = (id: string) =>
    JSON.stringify(openVexDocument([{ id, image: ociPurl('ghcr.io/acme/app'), status: 'not_affected' }]));

  test('files and globs, after the policy and ignore file, each statement with its document', async () => {
    const ws = await workspace({
      '.trivyignore': 'CVE-1\n',
      '.vex/a.openvex.json': doc('CVE-2'),
      '.vex/b.openvex.json': doc('CVE-3'),
      'other/c.json': doc('CVE-4'),
    });
    const { ignores } = await loadGatePolicy({
      workspace: ws,
      gate,
      ignoreFiles: [],
      vexFiles: ['.vex/*.json', 'other/c.json'],
    });
    expect(ignores.map((r) => `${r.id} ${r.source}`)).toEqual([
      'CVE-1 .trivyignore:1',
      'CVE-2 .vex/a.openvex.json statements[0]',
      'CVE-3 .vex/b.openvex.json statements[0]',
      'CVE-4 other/c.json statements[0]',
    ]);
  });

  test('a glob that matches nothing, a missing file, a symlink out of the workspace: refused naming vex', async () => {
    const ws = await workspace({});
    await expect(
      loadGatePolicy({ workspace: ws, gate, ignoreFiles: [], vexFiles: ['.vex/*.json'] }),
    ).rejects.toThrow(/`vex`: ".vex\/\*.json" matches no file/);
    await expect(
      loadGatePolicy({ workspace: ws, gate, ignoreFiles: [], vexFiles: ['vex.json'] }),
    ).rejects.toThrow(/`vex`: "vex.json" does not exist/);
    const outside = await workspace({ 'secret.json': doc('CVE-9') });
    await symlink(path.join(outside, 'secret.json'), path.join(ws, 'vex.json'));
    await expect(
      loadGatePolicy({ workspace: ws, gate, ignoreFiles: [], vexFiles: ['vex.json'] }),
    ).rejects.toThrow(/`vex`: "vex.json" resolves outside the workspace/);
    await mkdir(path.join(ws, '.vex'));
    await symlink(path.join(outside, 'secret.json'), path.join(ws, '.vex', 'x.json'));
    // A glob does not follow the symlink, and a literal match is checked like any file.
    await expect(
      loadGatePolicy({ workspace: ws, gate, ignoreFiles: [], vexFiles: ['.vex/*.json'] }),
    ).rejects.toThrow(/`vex`: ".vex\/x.json" resolves outside the workspace|matches no file/);
  });

  test('a document over 5 MiB is refused before it is parsed', async () => {
    const ws = await workspace({ 'big.json': `{"x": "${'a'.repeat(5 * 1024 * 1024)}"}` });
    await expect(
      loadGatePolicy({ workspace: ws, gate, ignoreFiles: [], vexFiles: ['big.json'] }),
    ).rejects.toThrow(/`vex`: "big.json" is larger than 5 MiB/);
  });

  test(`more than ${MAX_DOCUMENTS} documents is a glob that matched too much`, async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i <= MAX_DOCUMENTS; i++) files[`v/${i}.json`] = '{}';
    const ws = await workspace(files);
    await expect(
      loadGatePolicy({ workspace: ws, gate, ignoreFiles: [], vexFiles: ['v/*.json'] }),
    ).rejects.toThrow(new RegExp(`match ${MAX_DOCUMENTS + 1} files, more than ${MAX_DOCUMENTS}`));
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  parseResultsFile,
  readReportFile,
  reportFileFromText,
  serializeResults,
} from '../../src/findings/results-file.js';
import { ConfigurationError } from '../../src/errors.js';
import { RESULTS_SCHEMA, type ImageResult, type ResultsFile } from '../../src/model.js';

function image(overrides: Partial<ImageResult> = {}): ImageResult {
  return {
    target: {
      ref: 'ghcr.io/acme/api:1.2',
      input: 'ghcr.io/acme/api:1.2',
      registry: 'ghcr.io',
      repository: 'acme/api',
      tag: '1.2',
      origins: [{ file: 'deploy/k8s.yaml', line: 14 }],
      sources: ['file'],
    },
    digest: 'sha256:' + 'a'.repeat(64),
    status: 'scanned',
    findings: [
      {
        id: 'CVE-2024-1',
        pkg: 'openssl',
        installed: '3.0.1',
        fixed: '3.0.2, 3.1.0',
        severity: 'HIGH',
        cvss: { score: 7.5, source: 'nvd', version: '3' },
        class: 'os-pkgs',
        target: 'api (debian 12.5)',
      },
    ],
    trivyVersion: '0.74.0',
    dbUpdatedAt: '2026-08-14T06:00:00Z',
    ...overrides,
  };
}

function file(overrides: Partial<ResultsFile> = {}): ResultsFile {
  return {
    schema: RESULTS_SCHEMA,
    tool: { name: 'image-scan-gate', version: '1.4.0' },
    trivyVersion: '0.74.0',
    createdAt: '2026-08-14T09:00:00Z',
    images: [image()],
    skipped: [{ ref: 'ghcr.io/acme/old:1', reason: 'over max-images (500)' }],
    ...overrides,
  };
}

describe('serializeResults / parseResultsFile', () => {
  test('round trip is lossless', () => {
    const f = file({
      verdict: {
        result: 'fail',
        violations: [
          {
            rule: 'fail-on',
            image: 'ghcr.io/acme/api:1.2',
            findings: ['CVE-2024-1 (openssl)'],
            threshold: 'HIGH',
            message: 'x',
          },
        ],
        ignored: [],
        expiredIgnores: [],
        unusedIgnores: [],
        policy: { failOn: 'HIGH' },
      },
    });
    expect(parseResultsFile(serializeResults(f), 'results.json')).toEqual(f);
  });

  test('key order is fixed by the schema, not by how the objects were built', () => {
    const built = file();
    const shuffled = JSON.parse(JSON.stringify(built), function (this: unknown, _k, v: unknown) {
      if (v && typeof v === 'object' && !Array.isArray(v))
        return Object.fromEntries(Object.entries(v).reverse());
      return v;
    }) as ResultsFile;
    expect(Object.keys(shuffled)[0]).not.toBe('schema');
    expect(serializeResults(shuffled)).toBe(serializeResults(built));
    expect(Object.keys(JSON.parse(serializeResults(shuffled)))).toEqual([
      'schema',
      'tool',
      'trivyVersion',
      'createdAt',
      'images',
      'skipped',
    ]);
  });

  test('the free-form policy is written with sorted keys', () => {
    const policy = { z: 1, a: { y: 2, b: 3 } };
    const text = serializeResults(
      file({
        verdict: {
          result: 'pass',
          violations: [],
          ignored: [],
          expiredIgnores: [],
          unusedIgnores: [],
          policy,
        },
      }),
    );
    expect(text.indexOf('"a"')).toBeLessThan(text.indexOf('"z"'));
    expect(text.indexOf('"b"')).toBeLessThan(text.indexOf('"y"'));
  });

  test('fields the schema does not name (a stray credential) are never written', () => {
    const leaky = file() as ResultsFile & { token?: string };
    leaky.token = 'ghp_secretvalue';
    (leaky.images[0].target as unknown as Record<string, unknown>).password = 'hunter2';
    const text = serializeResults(leaky);
    expect(text).not.toContain('ghp_secretvalue');
    expect(text).not.toContain('hunter2');
  });

  test('writing an invalid file is a bug, refused', () => {
    const bad = file({ images: [image({ status: 'done' as never })] });
    expect(() => serializeResults(bad)).toThrow(/images\[0\]\.status/);
  });

  test('a newer major schema is refused with the upgrade advice', () => {
    const text = JSON.stringify({ ...file(), schema: 'image-scan-gate/results@2' });
    expect(() => parseResultsFile(text, 'shard-3/results.json')).toThrow(ConfigurationError);
    expect(() => parseResultsFile(text, 'shard-3/results.json')).toThrow(
      'reports: shard-3/results.json was written by a newer version of Image Scan Gate (results@2); upgrade the action in the report job.',
    );
  });

  test('an @1 file from an older action (no skipped list, a minor revision) is accepted', () => {
    const { skipped: _s, ...old } = file();
    const parsed = parseResultsFile(
      JSON.stringify({ ...old, schema: 'image-scan-gate/results@1.1' }),
      'old.json',
    );
    expect(parsed.schema).toBe(RESULTS_SCHEMA);
    expect(parsed.skipped).toEqual([]);
    expect(parsed.images).toHaveLength(1);
  });

  test("a shard job's plan record is an optional @1 field: written, read back, and absent from older files", () => {
    const plan = {
      id: '0123456789ab',
      shard: 2,
      shards: 3,
      images: [`ghcr.io/a/b:1@sha256:${'a'.repeat(64)}`],
    };
    const text = serializeResults(file({ plan }));
    expect(JSON.parse(text)).toMatchObject({ schema: RESULTS_SCHEMA, plan });
    expect(parseResultsFile(text, 'shard.json').plan).toEqual(plan);
    expect(parseResultsFile(serializeResults(file()), 'plain.json')).not.toHaveProperty('plan');
  });

  test.each([
    [
      'an id that is no plan id',
      { id: 'x\n::warning::', shard: 1, shards: 1, images: [] },
      /plan\.id: expected 12 hex/,
    ],
    // A hostile file claiming a billion shards would have the report job list a billion missing ones.
    ['an unbounded shard count', { id: '0123456789ab', shard: 1, shards: 1e9, images: [] }, /plan\.shards: /],
    [
      'shard beyond shards',
      { id: '0123456789ab', shard: 4, shards: 3, images: [] },
      /plan\.shard: shard is greater/,
    ],
    [
      'an image with a newline',
      { id: '0123456789ab', shard: 1, shards: 1, images: ['a\n::error::x'] },
      /plan\.images\[0\]/,
    ],
  ])('a damaged plan record (%s) is refused naming the file and field', (_name, plan, message) => {
    const text = JSON.stringify({ ...file(), plan });
    expect(() => parseResultsFile(text, 'r.json')).toThrow(ConfigurationError);
    expect(() => parseResultsFile(text, 'r.json')).toThrow(message);
  });

  test.each([
    ['bad JSON', '{"schema": ', /reports: r\.json is not valid JSON/],
    [
      'another schema',
      JSON.stringify({ schema: 'something/else@1' }),
      /r\.json is not an Image Scan Gate results file/,
    ],
    [
      'a bad severity deep inside',
      JSON.stringify({
        ...file(),
        images: [image({ findings: [{ ...image().findings[0], severity: 'SEVERE' as never }] })],
      }),
      /r\.json is not a valid results file: images\[0\]\.findings\[0\]\.severity: /,
    ],
    [
      'a missing required field',
      JSON.stringify({ ...file(), createdAt: undefined }),
      /r\.json is not a valid results file: createdAt: /,
    ],
  ])('%s: the error names the file and the bad path', (_name, text, message) => {
    expect(() => parseResultsFile(text, 'r.json')).toThrow(ConfigurationError);
    expect(() => parseResultsFile(text, 'r.json')).toThrow(message);
  });
});

describe('readReportFile', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'isg-results-'));
  const write = (name: string, content: unknown) => {
    const p = path.join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };

  test('a results file is read as one', async () => {
    const p = write('results.json', serializeResults(file()));
    const read = await readReportFile(p);
    expect(read.kind).toBe('results');
    expect(read.results).toEqual(file());
  });

  test('a raw Trivy report becomes a one-image results file, named by its ArtifactName', async () => {
    const p = write('raw.json', {
      SchemaVersion: 2,
      Trivy: { Version: '0.66.0' },
      CreatedAt: '2026-01-01T00:00:00Z',
      ArtifactName: 'nginx:1.25',
      ArtifactType: 'container_image',
      Metadata: {
        OS: { Family: 'debian', Name: '12.5' },
        ImageID: 'sha256:' + 'c'.repeat(64),
        RepoDigests: ['nginx@sha256:' + 'd'.repeat(64)],
      },
      Results: [
        {
          Target: 'nginx:1.25 (debian 12.5)',
          Class: 'os-pkgs',
          Type: 'debian',
          Vulnerabilities: [{ VulnerabilityID: 'CVE-1', PkgName: 'zlib', Severity: 'LOW' }],
        },
      ],
    });
    const read = await readReportFile(p);
    expect(read.kind).toBe('trivy-report');
    expect(read.results.trivyVersion).toBe('0.66.0');
    expect(read.results.images).toHaveLength(1);
    const [img] = read.results.images;
    expect(img.target).toMatchObject({
      ref: 'docker.io/library/nginx:1.25',
      input: 'nginx:1.25',
      registry: 'docker.io',
      repository: 'library/nginx',
      tag: '1.25',
    });
    expect(img).toMatchObject({
      digest: 'sha256:' + 'd'.repeat(64),
      imageId: 'sha256:' + 'c'.repeat(64),
      os: { family: 'debian', name: '12.5' },
      status: 'scanned',
      trivyVersion: '0.66.0',
    });
    expect(img.findings.map((f) => f.id)).toEqual(['CVE-1']);
    // What the report job later writes must be a valid results file.
    expect(() => parseResultsFile(serializeResults(read.results), 'x')).not.toThrow();
  });

  test('a report of an image archive keeps the archive name as its ref instead of inventing a Docker Hub image', () => {
    const read = reportFileFromText(
      JSON.stringify({
        SchemaVersion: 2,
        ArtifactName: 'testdata/alpine-310.tar.gz',
        ArtifactType: 'container_image',
      }),
      'a.json',
    );
    expect(read.results.images[0].target).toMatchObject({ ref: 'testdata/alpine-310.tar.gz', registry: '' });
  });

  test.each([
    ['neither kind', { runs: [] }, /neither an Image Scan Gate results file .* nor a Trivy JSON report/],
    ['an unsupported Trivy schema', { SchemaVersion: 1 }, /reports: .*SchemaVersion 1/],
    ['not JSON', 'trivy output in table format', /is not valid JSON/],
  ])('%s: a ConfigurationError naming the file', async (_name, content, message) => {
    const p = write('bad.json', content);
    await expect(readReportFile(p)).rejects.toThrow(ConfigurationError);
    await expect(readReportFile(p)).rejects.toThrow(message);
    await expect(readReportFile(p)).rejects.toThrow(p);
  });

  test('a missing file', async () => {
    await expect(readReportFile(path.join(dir, 'nope.json'))).rejects.toThrow(
      /^`reports`: ".*nope\.json" does not exist/,
    );
  });

  test('a FIFO is refused at once instead of blocking the run', async () => {
    const fifo = path.join(dir, 'pipe.json');
    execFileSync('mkfifo', [fifo]);
    await expect(readReportFile(fifo)).rejects.toThrow(/"[^"]*pipe\.json" is not a regular file/);
  });

  // A report may come from RUNNER_TEMP or anywhere the workflow names: errors name the file and where it went wrong,
  // and never quote it (Node's JSON.parse messages do).
  test.each([
    [
      'not JSON',
      'root:x:0:0:root:/root:/bin/bash\n',
      /is not valid JSON \((syntax error( at line 1, column 1)?)\)/,
    ],
    [
      'JSON cut short',
      '{"schema": "root:x:0:0',
      /is not valid JSON \(it ends before the JSON does|syntax error/,
    ],
    ['a foreign schema', '{"schema": "root:x:0:0:root:/root:/bin/bash"}', /its "schema" is something else/],
    [
      'a foreign SchemaVersion',
      '{"SchemaVersion": "root:x:0:0:root:/root:/bin/bash"}',
      /SchemaVersion \(not a number\)/,
    ],
  ])('%s: the content is not echoed', async (_name, text, message) => {
    const p = path.join(dir, 'foreign.json');
    writeFileSync(p, text);
    const e = await readReportFile(p).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).toMatch(message);
    expect((e as Error).message).not.toContain('root:');
  });

  test('a JSON syntax error past the first line names its line and column', () => {
    expect(() => parseResultsFile('{\n  "schema": 1,\n  "x": ]\n}', 'r.json')).toThrow(
      /r\.json is not valid JSON \(syntax error( at line 3, column 8)?\)/,
    );
  });

  test('the written text is what parse reads back, byte for byte stable', () => {
    const p = write('stable.json', serializeResults(file()));
    const again = serializeResults(parseResultsFile(readFileSync(p, 'utf8'), p));
    expect(again).toBe(readFileSync(p, 'utf8'));
  });
});

describe('the baseline delta in the results file (optional on @1)', () => {
  const delta: ResultsFile['delta'] = {
    baseline: { source: 'the last run on "main"', createdAt: '2026-08-13T09:00:00Z' },
    images: [
      {
        ref: 'ghcr.io/acme/api:1.2',
        baselineRef: 'ghcr.io/acme/api:1.1',
        change: 'compared',
        new: [
          {
            id: 'CVE-2024-1',
            pkg: 'openssl',
            severity: 'HIGH',
            class: 'os-pkgs',
            target: 't',
            fixed: '3.0.2',
          },
        ],
        fixed: [{ id: 'CVE-2023-9', pkg: 'zlib', severity: 'LOW', class: 'os-pkgs', target: 't' }],
        unchanged: 4,
      },
    ],
  };

  test('round trip is lossless, and a file without it still reads', () => {
    const f = file({ delta });
    expect(parseResultsFile(serializeResults(f), 'r.json')).toEqual(f);
    expect(parseResultsFile(serializeResults(file()), 'r.json').delta).toBeUndefined();
    const missing = file({ delta: { missing: 'No baseline to compare with: first run.', images: [] } });
    expect(parseResultsFile(serializeResults(missing), 'r.json').delta).toEqual(missing.delta);
  });

  test('a damaged delta is refused with the path of the bad field', () => {
    const raw = JSON.parse(serializeResults(file({ delta }))) as {
      delta: { images: { unchanged: unknown }[] };
    };
    raw.delta.images[0].unchanged = -1;
    expect(() => parseResultsFile(JSON.stringify(raw), 'r.json')).toThrow(/delta\.images\[0\]\.unchanged/);
  });
});

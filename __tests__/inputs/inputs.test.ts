import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { parseDuration, parseInputs, splitList } from '../../src/inputs.js';
import { makePlan, shardHeader } from '../../src/scale/plan.js';

function parse(
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = { GITHUB_WORKSPACE: '/ws', RUNNER_TEMP: '/tmp/rt' },
) {
  const masked: string[] = [];
  const config = parseInputs((n) => inputs[n] ?? '', env, {
    parseRegistryAuth: () => [],
    maskSecret: (v) => masked.push(v),
  });
  return { config, masked };
}

const PLANNED = makePlan([{ shard: 1, images: ['ghcr.io/acme/a:1'] }]);
/** A discover job's matrix of one entry, as the report job's `plan` input gets it. */
const PLAN = JSON.stringify({
  include: [
    {
      shard: 1,
      images: `${shardHeader({ id: PLANNED.id, shard: 1, shards: 1 })}\nghcr.io/acme/a:1`,
      count: 1,
    },
  ],
});
const HEADER = '# image-scan-gate plan 0123456789ab shard 1/2';

function refusal(inputs: Record<string, string>): ConfigurationError {
  try {
    parse(inputs);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    return e as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('parseInputs', () => {
  test('defaults follow PRODUCT.md', () => {
    const { config } = parse({ images: 'alpine:3.19' });
    expect(config.mode).toBe('scan');
    expect(config.trivy).toMatchObject({ version: '0.74.0', parallel: 4, timeoutMs: 600_000, cacheDb: true });
    expect(config.trivy.scanners).toEqual(['vuln']);
    expect(config.trivy.pkgTypes).toEqual(['os', 'library']);
    expect(config.discovery).toMatchObject({
      repositories: ['**'],
      tags: ['*'],
      maxImagesPerRepository: 5,
      maxImages: 500,
    });
    expect(config.gate).toEqual({
      failOn: undefined,
      max: {},
      maxCvss: undefined,
      ignoreUnfixed: undefined,
      gate: 'enforce',
    });
    expect(config.severity).toEqual(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN']);
    expect(config.outputDir).toBe('/ws/image-scan-results');
    expect(config).toMatchObject({
      uploadSarif: true,
      annotations: true,
      summary: true,
      prComment: 'auto',
      cacheResults: true,
    });
    expect(config.sarifCategory).toBe('image-scan');
  });

  test('images: one per line or comma-separated, blanks and comments skipped', () => {
    expect(splitList('alpine:3\n  nginx:1.25 , ghcr.io/a/b:1\n\n# note\n')).toEqual([
      'alpine:3',
      'nginx:1.25',
      'ghcr.io/a/b:1',
    ]);
  });

  test('gate inputs are parsed and upper-cased', () => {
    const { config } = parse({
      images: 'x',
      'fail-on': 'High',
      'max-critical': '0',
      'max-high': '10',
      'max-cvss': '9.0',
      'ignore-unfixed': 'true',
      gate: 'warn',
    });
    expect(config.gate).toEqual({
      failOn: 'HIGH',
      max: { CRITICAL: 0, HIGH: 10 },
      maxCvss: 9,
      ignoreUnfixed: true,
      gate: 'warn',
    });
  });

  test('secrets are masked the moment they are read', () => {
    const { masked } = parse({
      images: 'x',
      'registry-username': 'u',
      'registry-password': 'p4ss',
      'github-token': 'ghs_x',
      'registry-token': 'tok',
    });
    expect(masked).toEqual(expect.arrayContaining(['p4ss', 'ghs_x', 'tok']));
    expect(masked).not.toContain('u');
  });

  test.each([
    [{ images: 'x', 'fail-on': 'severe' }, 'fail-on', /allowed: critical, high, medium, low, unknown, none/],
    [{ images: 'x', parallel: '-1' }, 'parallel', /whole number from 1 to 64/],
    [{ images: 'x', parallel: '0' }, 'parallel', /from 1 to 64/],
    [{ images: 'x', parallel: 'four' }, 'parallel', /"four"/],
    [{ images: 'x', timeout: 'ten minutes' }, 'timeout', /90s, 10m or 1h/],
    [{ images: 'x', 'max-high': '-2' }, 'max-high', /≥ 0/],
    [{ images: 'x', 'max-cvss': '11' }, 'max-cvss', /0 to 10/],
    [{ images: 'x', gate: 'strict' }, 'gate', /enforce, warn, off/],
    [{ images: 'x', mode: 'fast' }, 'mode', /scan, discover, report/],
    [{ images: 'x', 'upload-sarif': 'yes' }, 'upload-sarif', /true or false/],
    [{ images: 'x', severity: 'HIGH,SEVERE' }, 'severity', /SEVERE/],
    [{ images: 'x', scanners: 'vuln,malware' }, 'scanners', /malware/],
    [{ images: 'x', 'trivy-version': 'v0.69.4' }, 'trivy-version', /malicious/],
    [{ images: 'x', 'trivy-version': 'newest' }, 'trivy-version', /exact version/],
    [{ images: 'x', 'trivy-checksum': 'abc' }, 'trivy-checksum', /64 hex/],
    [{ images: 'x', 'trivy-download-url': 'ftp://mirror' }, 'trivy-download-url', /http\(s\) URL/],
    [{ images: 'x', platform: 'amd64' }, 'platform', /os\/arch/],
    [{ mode: 'report' }, 'reports', /needs `reports`/],
    [{}, 'images', /Nothing to scan/],
    [{ images: 'x', shards: '4' }, 'shards', /mode: discover/],
    [{ images: 'x', plan: PLAN }, 'plan', /only applies with `mode: report`/],
    [{ mode: 'report', reports: 'r', plan: '{' }, 'plan', /not JSON/],
    [{ mode: 'report', reports: 'r', plan: '{"schema":"x"}' }, 'plan', /not a discover matrix/],
    [{ mode: 'report', reports: 'r', plan: PLAN.replace('a:1', 'a:2') }, 'plan', /edited or cut short/],
    [{ images: '# image-scan-gate plan 0123456789ab shard 3/2\nx' }, 'images', /damaged plan line/],
    [
      { images: `${HEADER}\n# image-scan-gate plan 0123456789ab shard 2/2\nx` },
      'images',
      /2 different plan lines/,
    ],
    [{ images: 'x', 'registry-password': 'p' }, 'registry-username', /give both/],
    [{ images: 'x', 'sarif-category': 'a b' }, 'sarif-category', /letters, digits/],
  ])('refuses %j naming `%s`', (inputs, input, message) => {
    const e = refusal(inputs);
    expect(e.input).toBe(input);
    expect(e.message).toContain(`\`${input}\``);
    expect(e.message).toMatch(message);
  });

  test("a shard job's images: the plan line names the plan and shard and is not an image; `plan` is read in report mode", () => {
    const { config } = parse({ images: `${HEADER}\nghcr.io/acme/a:1` });
    expect(config.planShard).toEqual({ id: '0123456789ab', shard: 1, shards: 2 });
    expect(config.images).toEqual(['ghcr.io/acme/a:1']);
    expect(parse({ images: 'x\n# a comment' }).config.planShard).toBeUndefined();
    const report = parse({ mode: 'report', reports: 'r', plan: PLAN }).config;
    expect(report.plan).toEqual(PLANNED);
    // An entry without its plan line (a matrix from before plans): refused, naming `plan`.
    expect(
      refusal({ mode: 'report', reports: 'r', plan: '{"include":[{"shard":1,"images":"a:1"}]}' }).message,
    ).toMatch(/entry 1 has no single valid plan line/);
  });

  test.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['120', 120_000],
    ['soon', undefined],
  ])('duration %s → %s ms', (raw, ms) => {
    expect(parseDuration(raw)).toBe(ms);
  });
});

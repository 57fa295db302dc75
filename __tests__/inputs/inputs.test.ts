import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { parseDuration, parseInputs, splitList } from '../../src/inputs.js';
import { hardKillAfterMs } from '../../src/scan/run-scan.js';
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
    // as Trivy and trivy-action: secrets too (`scanners: vuln` turns them off)
    expect(config.trivy.scanners).toEqual(['vuln', 'secret']);
    expect(config.trivy).toMatchObject({ skipFiles: [], skipDirs: [], vulnSeveritySource: [] });
    expect(config.trivy.configFile).toBeUndefined();
    expect(config.trivy.detectionPriority).toBeUndefined();
    expect(config.trivy.ignorePolicy).toBeUndefined();
    expect(config.ignoreFiles).toEqual([]);
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
      baseImageCandidates: 3,
    });
    expect(parse({ images: 'x', 'base-image-candidates': '0' }).config.baseImageCandidates).toBe(0);
    expect(config.sarifCategory).toBe('image-scan');
    expect(config).toMatchObject({
      sarifCategoryExact: false,
      pruneCategories: false,
      sarifIncludeIgnored: false,
    });
  });

  test('sarif-category: a prefix, or with a trailing `/` the exact category (trivy-action’s, `:` allowed)', () => {
    expect(parse({ images: 'x', 'sarif-category': 'sec/images/' }).config).toMatchObject({
      sarifCategory: 'sec/images',
      sarifCategoryExact: true,
    });
    expect(parse({ images: 'x', 'sarif-category': '.github/workflows/scan.yml:scan/' }).config).toMatchObject(
      {
        sarifCategory: '.github/workflows/scan.yml:scan',
        sarifCategoryExact: true,
      },
    );
    expect(
      parse({ images: 'x', 'prune-categories': 'true', 'sarif-include-ignored': 'true' }).config,
    ).toMatchObject({ pruneCategories: true, sarifIncludeIgnored: true, sarifCategoryExact: false });
  });

  test("Trivy's settings: lists split like every list input, order kept, values as Trivy takes them", () => {
    const { config } = parse({
      images: 'x',
      'trivy-config': 'ci/trivy.yaml',
      'skip-files': '/app/test/**/*.pem\n/app/fixtures/key.json',
      'skip-dirs': 'usr/share/doc, /opt/sdk',
      'detection-priority': 'Comprehensive',
      'vuln-severity-source': 'debian,nvd,auto',
      'ignore-policy': 'ci/ignore.rego',
      'ignore-file': '.trivyignore\nci/extra.trivyignore.yaml',
      scanners: 'vuln',
    });
    expect(config.trivy).toMatchObject({
      configFile: 'ci/trivy.yaml',
      skipFiles: ['/app/test/**/*.pem', '/app/fixtures/key.json'],
      skipDirs: ['usr/share/doc', '/opt/sdk'],
      detectionPriority: 'comprehensive',
      vulnSeveritySource: ['debian', 'nvd', 'auto'],
      ignorePolicy: 'ci/ignore.rego',
      scanners: ['vuln'],
    });
    expect(config.ignoreFiles).toEqual(['.trivyignore', 'ci/extra.trivyignore.yaml']);
  });

  test('matrix (the PR comment key) is read as given; outside a matrix it is unset or "null"', () => {
    expect(parse({ images: 'x' }).config.matrix).toBeUndefined();
    expect(parse({ images: 'x', matrix: '{\n  "os": "linux"\n}' }).config.matrix).toBe(
      '{\n  "os": "linux"\n}',
    );
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

  test('baseline and new-findings-only', () => {
    const { config } = parse({
      images: 'x',
      baseline: 'base/results.json\n/tmp/rt/base/*.json',
      'new-findings-only': 'true',
    });
    expect(config.baseline).toEqual(['base/results.json', '/tmp/rt/base/*.json']);
    expect(config.gate.newFindingsOnly).toBe(true);
    expect(parse({ images: 'x' }).config).toMatchObject({ baseline: [] });
    expect(parse({ images: 'x' }).config.gate.newFindingsOnly).toBeUndefined();
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
    [{ images: 'x', 'new-findings-only': 'yes' }, 'new-findings-only', /true or false/],
    [{ images: 'x', mode: 'discover', baseline: 'base/results.json' }, 'baseline', /mode: scan/],
    [{ images: 'x', 'base-image-candidates': '-1' }, 'base-image-candidates', /from 0 to 10/],
    [{ images: 'x', 'base-image-candidates': 'three' }, 'base-image-candidates', /"three"/],
    [{ images: 'x', 'base-image-candidates': '11' }, 'base-image-candidates', /from 0 to 10/],
    [{ images: 'x', severity: 'HIGH,SEVERE' }, 'severity', /SEVERE/],
    [{ images: 'x', scanners: 'vuln,malware' }, 'scanners', /malware/],
    [
      { images: 'x', 'detection-priority': 'fast' },
      'detection-priority',
      /"fast"; allowed: precise, comprehensive/,
    ],
    [
      { images: 'x', 'vuln-severity-source': 'nvd,vendor' },
      'vuln-severity-source',
      /"vendor"; allowed: nvd, redhat/,
    ],
    [{ images: 'x', scanners: ',,,' }, 'scanners', /names nothing; list at least one of vuln/],
    [{ images: 'x', 'pkg-types': ' , ,' }, 'pkg-types', /names nothing; list at least one of os, library/],
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
    [{ images: 'x', 'sarif-category': '//' }, 'sarif-category', /letters, digits/],
    [{ images: 'x', 'prune-categories': 'yes please' }, 'prune-categories', /true or false/],
    [{ images: 'x', 'sarif-include-ignored': '2' }, 'sarif-include-ignored', /true or false/],
    [
      { images: 'x', 'prune-categories': 'true', 'upload-sarif': 'false' },
      'prune-categories',
      /upload-sarif/,
    ],
    [
      { images: 'x', 'prune-categories': 'true', 'sarif-category': 'trivy/' },
      'prune-categories',
      /ends in `\/`/,
    ],
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

describe('process hardening inputs', () => {
  test.each(['1000h', '597h', '2147483648ms', '9999999999'])(
    'timeout %s beyond what a timer can wait is refused naming `timeout`',
    (timeout) => {
      const e = refusal({ images: 'x', timeout });
      expect(e.input).toBe('timeout');
      expect(e.message).toMatch(/longest time limit is 596h/);
    },
  );

  test('the longest timeout still fits Node’s timer with the hard-kill margin on top', () => {
    const { config } = parse({ images: 'x', timeout: '596h' });
    expect(config.trivy.timeoutMs).toBe(596 * 3_600_000);
    expect(hardKillAfterMs(config.trivy.timeoutMs)).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  test('trivy-download-url with credentials: password and whole URL masked before anything else', () => {
    const url = 'https://ci-user:p%40ss-SECRET@mirror.example/trivy/';
    const { config, masked } = parse({ images: 'x', 'trivy-download-url': url });
    expect(config.trivy.downloadUrl).toBe('https://ci-user:p%40ss-SECRET@mirror.example/trivy');
    expect(masked).toEqual(expect.arrayContaining([url, 'p%40ss-SECRET', 'p@ss-SECRET']));
  });

  test('a refused URL with credentials is shown redacted, never with its password', () => {
    const e = refusal({ images: 'x', 'trivy-download-url': 'ftp://u:hunter2-SECRET@mirror.example/x' });
    expect(e.input).toBe('trivy-download-url');
    expect(e.message).not.toContain('hunter2-SECRET');
    expect(e.message).toContain('***@mirror.example');
  });

  test('a URL without credentials masks nothing', () => {
    expect(parse({ images: 'x', 'trivy-download-url': 'https://mirror.example/r' }).masked).toEqual([]);
  });

  test.each([
    ['trivy', 'trivy'], // a bare name: found on PATH
    ['bin/trivy', '/ws/bin/trivy'], // relative: the workspace, not Trivy's private working directory
    ['./tools/trivy', '/ws/tools/trivy'],
    ['/usr/local/bin/trivy', '/usr/local/bin/trivy'],
  ])('trivy-path %s -> %s', (given, expected) => {
    expect(parse({ images: 'x', 'trivy-path': given }).config.trivy.path).toBe(expected);
  });
});

describe('splitList: the one splitter of every list input', () => {
  test.each<[string, string[]]>([
    ['alpine:3.19', ['alpine:3.19']],
    ['alpine:3.19, nginx:1.27,redis', ['alpine:3.19', 'nginx:1.27', 'redis']],
    ['alpine\n\n  nginx  \r\nredis\n', ['alpine', 'nginx', 'redis']],
    ['# base images\nalpine\n  # a comment\nnginx # the proxy', ['alpine', 'nginx']],
    ['a, b\nc,,d', ['a', 'b', 'c', 'd']],
    ['', []],
    ['  \n # only comments\n', []],
    // a /regex/ is one entry, commas and all
    ['/^v\\d{1,3}$/', ['/^v\\d{1,3}$/']],
    ['/^v\\d{1,3}$/, latest', ['/^v\\d{1,3}$/', 'latest']],
    ['stable,/^(a|b){2,4}$/i,edge', ['stable', '/^(a|b){2,4}$/i', 'edge']],
    ['/[,/]x/', ['/[,/]x/']], // a slash inside a class does not close it
    ['/a\\/b,c/', ['/a\\/b,c/']], // nor an escaped one
    ['/^v1 #x/ # the v1 line', ['/^v1 #x/']],
    ['/a/,/b/', ['/a/', '/b/']],
    // not a regex literal: split as before
    ['/tmp/a.json,/tmp/b.json', ['/tmp/a.json', '/tmp/b.json']],
  ])('%j', (raw, expected) => {
    expect(splitList(raw)).toEqual(expected);
  });

  test('tags with a comma in a regex reach the config as one pattern', () => {
    expect(parse({ registry: 'r.io', tags: '/^v\\d{1,3}$/' }).config.discovery.tags).toEqual([
      '/^v\\d{1,3}$/',
    ]);
  });
});

describe('refused before any work, naming the input', () => {
  test.each<[Record<string, string>, string, RegExp]>([
    [{ registry: 'not a host!' }, 'registry', /`registry` is "not a host!".*host\[:port\]\[\/namespace\]/],
    [{ registry: 'r.io:99999/team' }, 'registry', /port 99999 is out of range/],
    [{ registry: 'ghcr.io/acme org' }, 'registry', /namespace "acme org"/],
    [
      { registry: 'r.io', repositories: '[' },
      'repositories',
      /`repositories`: \[ is not a supported glob \(a \[ is not closed\)/,
    ],
    [{ registry: 'r.io', 'exclude-repositories': 'team/{a,b' }, 'exclude-repositories', /a \{ is not closed/],
    [{ registry: 'r.io', tags: '!v1' }, 'tags', /leading ! negates.*exclude-tags/],
    [{ registry: 'r.io', 'exclude-tags': '+(a|b)' }, 'exclude-tags', /extglobs/],
    [{ registry: 'r.io', tags: '[z-a]' }, 'tags', /not a valid glob/],
    [{ registry: 'r.io', tags: '/^(a)\\1$/' }, 'tags', /not a valid regular expression.*backreferences/],
    [{ registry: 'r.io', 'exclude-tags': '/^(?!v)/' }, 'exclude-tags', /lookaround/],
    [{ registry: 'r.io', tags: '/^v/y' }, 'tags', /flag "y"/],
    [{ images: 'x', severity: ',,,' }, 'severity', /names no severity/],
    [{ images: 'x', 'db-repository': 'http://x y' }, 'db-repository', /not a repository reference/],
    [{ images: 'x', 'java-db-repository': 'ghcr.io/Aqua/db' }, 'java-db-repository', /lower-case/],
  ])('%j -> %s', (inputs, input, message) => {
    const e = refusal(inputs);
    expect(e.input).toBe(input);
    expect(e.message).toMatch(message);
  });

  test.each([
    'ghcr.io/acme',
    'ghcr.io/Acme',
    'localhost:5000',
    'https://registry.example.com:5000/team/sub/',
    '[::1]:5000/a',
    '127.0.0.1:5000',
  ])('registry %s is accepted', (registry) => {
    expect(parse({ registry }).config.discovery.registry).toBeTruthy();
  });

  test('valid DB repositories are kept as written', () => {
    const { config } = parse({
      images: 'x',
      'db-repository': 'mirror.gcr.io/aquasec/trivy-db:2, ghcr.io/aquasecurity/trivy-db',
    });
    expect(config.trivy.dbRepositories).toEqual([
      'mirror.gcr.io/aquasec/trivy-db:2',
      'ghcr.io/aquasecurity/trivy-db',
    ]);
  });
});

describe('image-source', () => {
  test('defaults to auto and takes each of Trivy’s sources', () => {
    expect(parse({ images: 'x' }).config.imageSource).toBe('auto');
    for (const source of ['auto', 'remote', 'docker', 'containerd', 'podman'])
      expect(parse({ images: 'x', 'image-source': source }).config.imageSource).toBe(source);
  });

  test.each(['docker,remote', 'daemon', 'registry'])('"%s" is refused naming image-source', (value) => {
    const e = refusal({ images: 'x', 'image-source': value });
    expect(e.input).toBe('image-source');
    expect(e.message).toContain('allowed: auto, remote, docker, containerd, podman');
  });

  test('local images cannot be planned by mode: discover', () => {
    const e = refusal({ images: 'oci-dir:build/oci', mode: 'discover' });
    expect(e.input).toBe('images');
    expect(e.message).toContain('mode: discover cannot hand to other jobs');
    expect(refusal({ images: 'x', 'image-source': 'docker', mode: 'discover' }).input).toBe('images');
    expect(parse({ images: 'x', mode: 'discover' }).config.mode).toBe('discover');
  });
});

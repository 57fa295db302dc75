import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { readStandinLog, scansIn, tempDir } from './fixtures.js';
import {
  expectNoInputsInChildren,
  MARKERS,
  expectNoLeak,
  markedCredentialInputs,
  markedRunnerEnv,
  readResults,
} from './hardening-harness.js';

// Hostile registries and hostile-looking inputs through the bundle (../shared/SECURITY.md rules 1, 5, 6): pages and
// token realms on another host get no credentials, patterns from inputs run in linear time, bad inputs are refused
// before any download, registry call or scan, and a cloud provider that cannot log in fails only its registry.

const USER = 'marker-user'; // markedCredentialInputs()'s registry-username; its password is MARKERS.registryPassword

type Run = ActionRun & { post?: ActionRun; standinLog: string };

/** Every marker in every output, file, API body, and every Trivy child's argv and whole environment. */
function expectNoLeakAnywhere(r: Run): void {
  expectNoLeak(r, { standinLog: r.standinLog });
  // Refusals start no child at all (asserted where they are tried); where Trivy ran, none of it got an input.
  if (readStandinLog(r.standinLog).length > 0) expectNoInputsInChildren(r.standinLog);
}

let mirror: ReleaseMirror;

beforeAll(async () => {
  mirror = await startReleaseMirror();
}, 60_000);

afterAll(async () => {
  await mirror?.close();
});

async function run(
  inputs: Record<string, string>,
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Run> {
  const standinLog = path.join(tempDir('isg-hreg-log-'), 'standin.log');
  const result = await runAction({
    inputs: {
      'trivy-download-url': mirror.baseUrl,
      'trivy-checksum': mirror.sha256,
      'cache-db': 'false',
      'upload-sarif': 'false',
      'pr-comment': 'never',
      'fail-on': 'none',
      ...inputs,
    },
    env: { STANDIN_LOG: standinLog, ...markedRunnerEnv(), ...opts.env },
    post: true,
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  return { ...result, standinLog };
}

function discovered(r: Run): string[] {
  expect(r.outputs.images, `no images output\n${r.stdout}\n${r.stderr}`).toBeTruthy();
  return (JSON.parse(r.outputs.images) as { ref: string }[]).map((i) => i.ref);
}

function warnings(r: Run): string {
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('::warning'))
    .join('\n');
}

/** A server on its own port that records every request (what a hostile page or realm would collect). */
interface Collector {
  origin: string; // http://127.0.0.1:PORT
  port: number;
  requests: { path: string; authorization?: string }[];
  close(): Promise<void>;
}

async function startCollector(): Promise<Collector> {
  const requests: Collector['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ repositories: ['stolen/repo'], tags: ['stolen'], token: 'collector-token' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/**
 * A hostile front for the real registry: every request is passed through unchanged, and `rewrite` may change the
 * answer's headers (a `Link` to another host, a token realm elsewhere).
 */
async function startFront(
  target: TestRegistry,
  rewrite: (path: string, status: number, headers: http.OutgoingHttpHeaders) => void,
): Promise<{ host: string; close(): Promise<void> }> {
  const upstream = new URL(target.url);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const out = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (answer) => {
          const headers: http.OutgoingHttpHeaders = { ...answer.headers };
          rewrite(req.url ?? '', answer.statusCode ?? 502, headers);
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { host: `127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** Link headers naming the collector as the next page of `_catalog` and of every `tags/list`. */
function pagesElsewhere(collector: Collector) {
  return (p: string, status: number, headers: http.OutgoingHttpHeaders) => {
    if (status !== 200) return;
    if (p.startsWith('/v2/_catalog'))
      headers.link = `<${collector.origin}/v2/_catalog?last=zzz&n=100>; rel="next"`;
    const tags = /^\/v2\/(.+)\/tags\/list/.exec(p);
    if (tags) headers.link = `<${collector.origin}/v2/${tags[1]}/tags/list?last=zzz>; rel="next"`;
  };
}

describe.each([
  ['htpasswd (Basic)', 'htpasswd'],
  ['token server (Bearer)', 'token'],
] as const)('a registry paging to another host: %s', (_name, auth) => {
  let registry: TestRegistry;
  let collector: Collector;
  let front: Awaited<ReturnType<typeof startFront>>;
  let r: Run;

  beforeAll(async () => {
    registry = await startRegistry({ auth, users: { [USER]: MARKERS.registryPassword } });
    await registry.push('team/app', '1.0', { layerContent: 'app' });
    await registry.push('team/web', '2.0', { layerContent: 'web' });
    collector = await startCollector();
    front = await startFront(registry, pagesElsewhere(collector));
    r = await run({ ...markedCredentialInputs(), registry: front.host });
  }, 120_000);

  afterAll(async () => {
    await front?.close();
    await collector?.close();
    await registry?.close();
  });

  test('_catalog: the page on the other host is not fetched, so neither Basic nor Bearer reaches it', () => {
    expect(collector.requests.filter((q) => q.path.startsWith('/v2/_catalog'))).toEqual([]);
    expect(collector.requests.filter((q) => q.authorization !== undefined)).toEqual([]);
    expect(warnings(r)).toContain(
      `the next page of the catalog is on another host (127.0.0.1:${collector.port})`,
    );
  });

  test('tags/list: the same, for every repository; the run completes with both images scanned', () => {
    expect(collector.requests).toEqual([]);
    expect(warnings(r)).toContain('the next page of tags of team/app is on another host');
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(discovered(r).sort()).toEqual([`${front.host}/team/app:1.0`, `${front.host}/team/web:2.0`]);
    const results = readResults(r);
    expect(results.images.map((i) => i.status)).toEqual(['scanned', 'scanned']);
    expect(JSON.stringify(results)).not.toContain('stolen');
    expectNoLeakAnywhere(r);
  });
});

describe('a token realm on another host', () => {
  let registry: TestRegistry;
  let collector: Collector;
  let front: Awaited<ReturnType<typeof startFront>>;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', users: { [USER]: MARKERS.registryPassword } });
    await registry.push('team/app', '1.0', { layerContent: 'app' });
    collector = await startCollector();
    // `localhost`, not 127.0.0.1: another host name, though the same machine answers
    front = await startFront(registry, (_p, status, headers) => {
      if (status === 401)
        headers['www-authenticate'] = `Bearer realm="http://localhost:${collector.port}/token",service="x"`;
    });
  }, 60_000);

  afterAll(async () => {
    await front?.close();
    await collector?.close();
    await registry?.close();
  });

  test('is asked for a token anonymously: the credentials for the registry never reach it', async () => {
    const r = await run({ ...markedCredentialInputs(), registry: front.host, mode: 'discover' });
    expect(collector.requests.length, r.stdout).toBeGreaterThan(0);
    expect(collector.requests.filter((q) => q.authorization !== undefined)).toEqual([]);
    expect(warnings(r)).toContain(`sends us to a token server on another host (localhost:${collector.port})`);
    // the anonymous token grants nothing here: the registry is reported as not listable, by name
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain(`${front.host} does not let us list its repositories`);
    expectNoLeakAnywhere(r);
  });
});

describe('patterns from inputs', () => {
  let registry: TestRegistry;
  const LONG_A = 'a'.repeat(40);

  beforeAll(async () => {
    registry = await startRegistry();
    for (const tag of ['v1', 'v22', 'v4444', 'x1', 'aaaa', `${LONG_A}.x`, 'a'.repeat(120)])
      await registry.push('team/app', tag, { layerContent: tag });
  }, 60_000);

  afterAll(async () => {
    await registry?.close();
  });

  const discover = (extra: Record<string, string>) =>
    run(
      { registry: registry.host, mode: 'discover', 'max-images-per-repository': '0', ...extra },
      { timeoutMs: 60_000 },
    );

  test("tags: '/^(a+)+$/' next to a 40-character non-matching tag finishes, matching only what it should", async () => {
    const r = await discover({ tags: '/^(a+)+$/' });
    expect(r.exitCode, `killed or failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(discovered(r).sort()).toEqual(
      [`${registry.host}/team/app:${'a'.repeat(120)}`, `${registry.host}/team/app:aaaa`].sort(),
    );
  });

  test("tags: a glob that backtracks for hours as a RegExp ('*a*a…*b' on a 120-character tag) finishes too", async () => {
    // the hostile glob first, so every tag (the long one included) is tried against it
    const r = await discover({ tags: '*a*a*a*a*a*a*a*a*a*a*a*b\nv*', 'exclude-tags': 'v4*' });
    expect(r.exitCode, `killed or failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(discovered(r).sort()).toEqual([`${registry.host}/team/app:v1`, `${registry.host}/team/app:v22`]);
  });

  test("tags: '/^v\\d{1,3}$/' is one regex, its comma included: v1 and v22, not v4444", async () => {
    const r = await discover({ tags: '/^v\\d{1,3}$/' });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(discovered(r).sort()).toEqual([`${registry.host}/team/app:v1`, `${registry.host}/team/app:v22`]);
  });
});

describe('refused before any download, registry call or scan, naming the input', () => {
  let registry: TestRegistry;
  let collector: Collector;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { [USER]: MARKERS.registryPassword } });
    collector = await startCollector();
  }, 60_000);

  afterAll(async () => {
    await collector?.close();
    await registry?.close();
  });

  test.each<[string, () => Record<string, string>, string, RegExp]>([
    ['a backreference', () => ({ registry: registry.host, tags: '/^(v)\\1$/' }), 'tags', /backreferences/],
    [
      'lookahead',
      () => ({ registry: registry.host, 'exclude-tags': '/^(?!v)/' }),
      'exclude-tags',
      /lookaround/,
    ],
    ['a registry that is no host', () => ({ registry: 'not a host!' }), 'registry', /host\[:port\]/],
    [
      'an unclosed [ in repositories',
      () => ({ registry: registry.host, repositories: '[' }),
      'repositories',
      /a \[ is not closed/,
    ],
    [
      'severity that names none',
      () => ({ images: `${registry.host}/team/app:1`, severity: ',,,' }),
      'severity',
      /names no severity/,
    ],
    [
      'a db-repository that is no reference',
      () => ({ images: `${registry.host}/team/app:1`, 'db-repository': 'http://x y' }),
      'db-repository',
      /not a repository reference/,
    ],
  ])('%s', async (_name, inputs, input, reason) => {
    const downloadsBefore = mirror.requests.length;
    const r = await run({ ...markedCredentialInputs(), ...inputs() });
    expect(r.exitCode).toBe(1);
    const error = r.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
    expect(error).toContain(`\`${input}\``);
    expect(error).toMatch(reason);
    // no work started: nothing downloaded, no Trivy run
    expect(mirror.requests.length).toBe(downloadsBefore);
    expect(readStandinLog(r.standinLog)).toEqual([]);
    expectNoLeakAnywhere(r);
  });
});

describe('a cloud provider that cannot log in fails only its registry', () => {
  let registry: TestRegistry;
  const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { [USER]: MARKERS.registryPassword } });
    await registry.push('team/app', '1.0', {
      layerContent: 'app',
      labels: { 'standin.report': 'alpine-vulns' },
    });
    await registry.push('team/web', '2.0', { layerContent: 'web' });
  }, 60_000);

  afterAll(async () => {
    await registry?.close();
  });

  test('provider ecr without AWS credentials: its images fail with the reason, the other registry is scanned', async () => {
    const marked = markedCredentialInputs();
    const r = await run(
      {
        'github-token': marked['github-token'],
        images: [
          `${ECR}/team/api:1.0`,
          `${ECR}/team/worker:2.0`,
          `${registry.host}/team/app:1.0`,
          `${registry.host}/team/web:2.0`,
        ].join('\n'),
        'registry-auth': [
          `- registry: ${ECR}`,
          '  provider: ecr',
          `- registry: ${registry.host}`,
          `  username: ${USER}`,
          `  password: ${MARKERS.registryPassword}`,
          marked['registry-auth'],
        ].join('\n'),
      },
      // markedRunnerEnv gives AWS_SECRET_ACCESS_KEY alone: no usable AWS credentials; no instance metadata either
      { env: { AWS_EC2_METADATA_DISABLED: 'true' } },
    );
    const results = readResults(r) as unknown as {
      images: { target: { ref: string }; status: string; error?: string }[];
    };
    const byRef = new Map(results.images.map((i) => [i.target.ref, i]));
    for (const ref of [`${ECR}/team/api:1.0`, `${ECR}/team/worker:2.0`]) {
      expect(byRef.get(ref)?.status, ref).toBe('failed');
      expect(byRef.get(ref)?.error).toMatch(/registry-auth\[1\] provider ecr: could not get an ECR token/);
      expect(byRef.get(ref)?.error).toMatch(/configure-aws-credentials/);
    }
    for (const ref of [`${registry.host}/team/app:1.0`, `${registry.host}/team/web:2.0`])
      expect(byRef.get(ref)?.status, ref).toBe('scanned');
    // Trivy was never sent to the registry it has no credentials for
    const scans = scansIn(readStandinLog(r.standinLog)) as ({ image?: string } & ReturnType<
      typeof scansIn
    >[number])[];
    expect(scans.map((s) => s.image).sort()).toEqual([
      `${registry.host}/team/app:1.0`,
      `${registry.host}/team/web:2.0`,
    ]);
    // the failure is in the verdict, even with fail-on: none
    expect(r.outputs.result).toBe('fail');
    expect(r.exitCode).toBe(1);
    expect(fs.existsSync(r.outputs['results-file'])).toBe(true);
    expectNoLeakAnywhere(r);
  });
});

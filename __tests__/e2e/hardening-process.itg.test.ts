import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { standinPath } from '../standin/standin-helpers.js';
import { readStandinLog, scansIn, templateCounts, tempDir } from './fixtures.js';
import {
  MARKERS,
  expectNoInputsInChildren,
  expectNoLeak,
  markedCredentialInputs,
  markedRunnerEnv,
  readResults,
} from './hardening-harness.js';

// SECURITY.md rules 1, 5, 7 and 8 for the processes the action starts, through the bundle as the runner runs it:
// children get an allow-listed environment (no INPUT_*, no runner or cloud secrets, no TRIVY_* of the job); Trivy
// runs in a private directory with a private empty config and ignore file; a hung or flooding Trivy (a `trivy-path`
// wrapper) costs only its own image; the tool cache is re-verified; bad process inputs are refused before any work.

type Run = ActionRun & { post?: ActionRun };

let registry: TestRegistry;
let mirror: ReleaseMirror;
const alpine = templateCounts('alpine-vulns');

beforeAll(async () => {
  [registry, mirror] = await Promise.all([
    startRegistry({ auth: 'htpasswd', users: { 'marker-user': MARKERS.registryPassword } }),
    startReleaseMirror(),
  ]);
  await registry.push('shop/api', '1.0', {
    labels: { 'standin.report': 'alpine-vulns' },
    layerContent: 'api',
  });
  await registry.push('shop/web', '2.0', { labels: { 'standin.report': 'clean' }, layerContent: 'web' });
  await registry.push('shop/hang', '1.0', { labels: { 'standin.report': 'clean' }, layerContent: 'hang' });
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

const api = () => `${registry.host}/shop/api:1.0`;
const web = () => `${registry.host}/shop/web:2.0`;
const hang = () => `${registry.host}/shop/hang:1.0`;

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    images: [api(), web()].join('\n'),
    'trivy-download-url': mirror.baseUrl,
    'trivy-checksum': mirror.sha256,
    'cache-db': 'false',
    'cache-results': 'false',
    'upload-sarif': 'false',
    'pr-comment': 'never',
    parallel: '2',
    'fail-on': 'none',
    ...markedCredentialInputs(),
    ...extra,
  };
}

async function run(
  extra: Record<string, string>,
  opts: { env?: Record<string, string>; workspace?: string; toolCache?: string; timeoutMs?: number } = {},
): Promise<Run & { log: string }> {
  const log = path.join(tempDir('isg-process-log-'), 'standin.log');
  const result = await runAction({
    inputs: inputs(extra),
    env: {
      ...registry.env,
      ...markedRunnerEnv(),
      GITHUB_TOKEN: MARKERS.githubToken,
      STANDIN_LOG: log,
      ...opts.env,
    },
    dirs: {
      ...(opts.workspace && { workspace: opts.workspace }),
      ...(opts.toolCache && { toolCache: opts.toolCache }),
    },
    post: true,
    ...(opts.timeoutMs && { timeoutMs: opts.timeoutMs }),
  });
  return { ...result, log };
}

interface OutputImage {
  ref: string;
  status: string;
  error?: string;
}

function byRef(r: Run): Record<string, OutputImage> {
  expect(r.outputs.images, `no images output\n${r.stdout}\n${r.stderr}`).toBeTruthy();
  const images = JSON.parse(r.outputs.images) as OutputImage[];
  return Object.fromEntries(images.map((i) => [i.ref, i]));
}

/** A `trivy-path` wrapper around the stand-in: `hostile` runs (sh) only when the image reference matches. */
function wrapper(name: string, match: string, hostile: string): string {
  const dir = tempDir('isg-wrapper-');
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    ['#!/bin/sh', `case "$*" in *${match}*) ${hostile} ;; esac`, `exec "${standinPath}" "$@"`, ''].join('\n'),
  );
  fs.chmodSync(file, 0o755);
  return file;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

describe('child environments', () => {
  test('trivy --version, the DB download and every scan get no INPUT_*, no runner secret, no marker', async () => {
    const r = await run({});
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const log = readStandinLog(r.log) as (ReturnType<typeof readStandinLog>[number] & {
      env: Record<string, string>;
    })[];
    // --version, the DB download and both scans were all recorded
    expect(log.some((i) => i.argv.includes('--version'))).toBe(true);
    expect(log.some((i) => i.argv.includes('--download-db-only'))).toBe(true);
    expect(scansIn(log)).toHaveLength(2);
    expectNoInputsInChildren(r.log);
    expectNoLeak(r, { standinLog: r.log });
    for (const i of log) {
      for (const name of [
        'GITHUB_TOKEN',
        'ACTIONS_RUNTIME_TOKEN',
        'AWS_SECRET_ACCESS_KEY',
        'GITHUB_WORKSPACE',
      ])
        expect(i.env[name], `${name} in trivy ${i.argv.slice(0, 2).join(' ')}`).toBeUndefined();
    }
    for (const s of scansIn(log)) expect(s.credentialEnv).toEqual(['DOCKER_CONFIG']);
  });

  test('not only Trivy: tar extracting the release archive gets no INPUT_* and no marker either', async () => {
    const realTar = execFileSync('sh', ['-c', 'command -v tar'], { encoding: 'utf8' }).trim();
    const bin = tempDir('isg-fake-bin-');
    const envs = tempDir('isg-tar-env-');
    fs.writeFileSync(
      path.join(bin, 'tar'),
      ['#!/bin/sh', `env > "${envs}/tar-$$.env"`, `exec "${realTar}" "$@"`, ''].join('\n'),
    );
    fs.chmodSync(path.join(bin, 'tar'), 0o755);
    const r = await run({}, { env: { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` } });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const files = fs.readdirSync(envs);
    expect(files.length, 'tar never ran').toBeGreaterThan(0);
    for (const f of files) {
      const text = fs.readFileSync(path.join(envs, f), 'utf8');
      expect(text).not.toMatch(/^INPUT_/m);
      for (const m of Object.values(MARKERS))
        expect(text.includes(m), `${m} in tar's environment`).toBe(false);
    }
  });

  test('TRIVY_SEVERITY=CRITICAL (and TRIVY_IGNOREFILE) in the job env do not shrink what the gate sees', async () => {
    const ws = tempDir('isg-ws-');
    fs.writeFileSync(path.join(ws, 'elsewhere.ignore'), 'CVE-2023-38545\n');
    const r = await run(
      {},
      {
        workspace: ws,
        env: { TRIVY_SEVERITY: 'CRITICAL', TRIVY_IGNOREFILE: path.join(ws, 'elsewhere.ignore') },
      },
    );
    expect(alpine.HIGH).toBeGreaterThan(0);
    expect(Number(r.outputs.high)).toBe(alpine.HIGH);
    expect(Number(r.outputs.critical)).toBe(alpine.CRITICAL);
    expect(r.stdout).toMatch(
      /::warning::TRIVY_IGNOREFILE, TRIVY_SEVERITY are set in the environment but not passed/,
    );
    for (const s of scansIn(readStandinLog(r.log)) as { env?: Record<string, string> }[])
      expect(Object.keys(s.env ?? {}).filter((k) => k.startsWith('TRIVY_'))).toEqual([]);
    expectNoLeak(r, { standinLog: r.log });
  });
});

describe('isolated configuration', () => {
  test('a workspace trivy.yaml with severity: CRITICAL does not shrink the results', async () => {
    const ws = tempDir('isg-ws-');
    fs.writeFileSync(
      path.join(ws, 'trivy.yaml'),
      'severity:\n  - CRITICAL\nscan:\n  scanners: [secret]\nvulnerability:\n  ignore-unfixed: true\n',
    );
    const r = await run({}, { workspace: ws });
    expect(Number(r.outputs.high)).toBe(alpine.HIGH);
    expect(Number(r.outputs.medium)).toBe(alpine.MEDIUM);
    for (const s of scansIn(readStandinLog(r.log)) as { cwd?: string; configFile?: string }[]) {
      expect(s.cwd?.startsWith(ws)).toBe(false); // Trivy never ran in the workspace
      expect(s.configFile?.startsWith(r.dirs.temp)).toBe(true); // it read the private, empty config
    }
    expectNoLeak(r, { standinLog: r.log });
  });

  test('a workspace .trivyignore is applied by the action (shown as applied), not silently by Trivy', async () => {
    const ws = tempDir('isg-ws-');
    fs.writeFileSync(path.join(ws, '.trivyignore'), '# accepted risk\nCVE-2023-38545\n');
    const r = await run({}, { workspace: ws });
    const results = readResults(r) as unknown as {
      images: { target: { ref: string }; findings: { id: string }[] }[];
      verdict: { ignored: { findingId: string; rule: string }[]; unusedIgnores: { id: string }[] };
    };
    const apiResult = results.images.find((i) => i.target.ref === api());
    // Trivy reported it (its own ignore file was private and empty) ...
    expect(apiResult?.findings.map((f) => f.id)).toContain('CVE-2023-38545');
    // ... and the action's verdict ignored it, visibly.
    expect(results.verdict.ignored.map((i) => i.findingId)).toContain('CVE-2023-38545');
    expect(results.verdict.unusedIgnores.map((u) => u.id)).not.toContain('CVE-2023-38545');
    expect(r.summary).toMatch(/\*\*Applied\*\*/);
    expect(r.summary).not.toMatch(/\*\*Unused\*\*/);
    expectNoLeak(r, { standinLog: r.log });
  });
});

describe('hangs and floods', () => {
  test('a trivy-path wrapper whose child hangs with the pipes open: that image times out, the others are reported', async () => {
    const pids = path.join(tempDir('isg-pids-'), 'pids');
    const trivy = wrapper('trivy-hang', 'shop/hang', `sleep 300 & echo $! >> ${pids}; wait`);
    const started = Date.now();
    const r = await run(
      { 'trivy-path': trivy, timeout: '5s', images: [api(), hang(), web()].join('\n') },
      { timeoutMs: 110_000 },
    );
    expect(r.exitCode, 'the step was killed by the test, not finished').not.toBeNull();
    expect(Date.now() - started).toBeLessThan(100_000);
    const images = byRef(r);
    expect(images[hang()].status).toBe('failed');
    expect(images[api()].status).toBe('scanned');
    expect(images[web()].status).toBe('scanned');
    const results = readResults(r);
    expect(results.images).toHaveLength(3);
    // The error names the input that sets the limit, and its value.
    expect(results.images.find((i) => i.status === 'failed')?.error).toBe(
      'timed out after 5s (the `timeout` input, now 5s; raise it for large images or slow registries)',
    );
    // the hung grandchild did not survive the step
    for (const pid of fs.readFileSync(pids, 'utf8').trim().split('\n').map(Number))
      expect(await gone(pid), `sleep ${pid} still running`).toBe(true);
    expectNoLeak(r, { standinLog: r.log });
  }, 120_000);

  test('a trivy-path wrapper that exits but leaves a grandchild holding stdout does not hold the step', async () => {
    const pids = path.join(tempDir('isg-pids-'), 'pids');
    const dir = tempDir('isg-wrapper-');
    const trivy = path.join(dir, 'trivy-linger');
    fs.writeFileSync(
      trivy,
      [
        '#!/bin/sh',
        `"${standinPath}" "$@"`,
        'code=$?',
        `sleep 300 & echo $! >> ${pids}`,
        'exit $code',
        '',
      ].join('\n'),
    );
    fs.chmodSync(trivy, 0o755);
    const started = Date.now();
    const r = await run({ 'trivy-path': trivy }, { timeoutMs: 110_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(100_000);
    const images = byRef(r);
    expect(images[api()].status).toBe('scanned');
    expect(images[web()].status).toBe('scanned');
    for (const pid of fs.readFileSync(pids, 'utf8').trim().split('\n').map(Number))
      expect(await gone(pid), `sleep ${pid} still running`).toBe(true);
  }, 120_000);

  test('300 MB of stderr for one image: the others are reported, its error is bounded, the results file valid', async () => {
    const trivy = wrapper(
      'trivy-flood',
      'shop/hang',
      `head -c 300000000 /dev/zero | tr '\\000' 'x' >&2; exit 1`,
    );
    const r = await run(
      { 'trivy-path': trivy, images: [api(), hang(), web()].join('\n') },
      { timeoutMs: 110_000 },
    );
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(1); // the failed image fails the gate, nothing crashed
    const images = byRef(r);
    expect(images[api()].status).toBe('scanned');
    expect(images[web()].status).toBe('scanned');
    expect(images[hang()].status).toBe('failed');
    const results = readResults(r);
    const flooded = results.images.find((i) => i.status === 'failed');
    expect(flooded?.error?.length).toBeLessThanOrEqual(1000);
    expect(flooded?.error).toContain('…(truncated)…');
    expect(fs.statSync(r.outputs['results-file']).size).toBeLessThan(1024 * 1024);
    expect(r.summary.length).toBeLessThan(200_000);
    expect(r.stdout.length).toBeLessThan(1024 * 1024);
  }, 120_000);
});

describe('refused before any work', () => {
  test('timeout: 1000h (beyond Node’s timers) is refused naming `timeout`', async () => {
    const before = mirror.requests.length;
    const r = await run({ timeout: '1000h' });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/::error::`timeout` is "1000h"; the longest time limit is 596h/);
    expect(mirror.requests.length).toBe(before);
    expect(r.outputs.result).toBeUndefined();
  });

  test('trivy-path that does not exist, with `registry` set, is refused before any registry request', async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await run({
        images: '',
        registry: `127.0.0.1:${port}/team`,
        'trivy-path': '/nonexistent/trivy',
      });
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toMatch(/::error::`trivy-path` \/nonexistent\/trivy does not exist/);
      expect(requests).toEqual([]);
      expect(readStandinLog(r.log)).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('download URL credentials and the tool cache', () => {
  test('trivy-download-url with user:MARKER@host: the password reaches its own host, and is never printed', async () => {
    const url = mirror.baseUrl.replace('http://', `http://dl-user:${MARKERS.downloadUrlPassword}@`);
    const before = mirror.authorizations.length;
    const r = await run({ 'trivy-download-url': url });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`::add-mask::${url}`);
    expect(mirror.authorizations.slice(before)).toContain(
      `Basic ${Buffer.from(`dl-user:${MARKERS.downloadUrlPassword}`).toString('base64')}`,
    );
    expectNoLeak(r, { standinLog: r.log });
  });

  test('a cached binary replaced between runs is refused, re-installed from the verified archive, and never runs', async () => {
    const first = await run({});
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    const cached = path.join(first.dirs.toolCache, 'trivy', '0.74.0', 'x64', 'trivy');
    const genuine = fs.readFileSync(cached);
    const witness = path.join(tempDir('isg-witness-'), 'tampered-ran');
    fs.writeFileSync(cached, `#!/bin/sh\ntouch ${witness}\necho '{"Version":"0.74.0"}'\n`);
    const assetsBefore = mirror.requests.filter((p) => p.endsWith(mirror.assetName)).length;

    const second = await run({}, { toolCache: first.dirs.toolCache });
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(
      /::warning::The cached Trivy binary .* differs from the one in its verified archive/,
    );
    expect(fs.existsSync(witness)).toBe(false);
    const log = readStandinLog(second.log);
    expect(log.some((i) => i.argv.includes('--version'))).toBe(true); // the real one answered
    expect(scansIn(log)).toHaveLength(2);
    expect(fs.readFileSync(cached).equals(genuine)).toBe(true);
    expect(mirror.requests.filter((p) => p.endsWith(mirror.assetName)).length).toBe(assetsBefore);
    expect(Object.values(byRef(second)).every((i) => i.status === 'scanned')).toBe(true);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { filesUnder, readStandinLog, scansIn, tempDir, type StandinInvocation } from './fixtures.js';

// Issue 3 ("Registries") through the bundle, as a user runs it: token auth through a token server
// (registry-username/registry-password and registry-token), a registry that refuses wrong credentials next to one
// that accepts them, discovery with every filter and cap, and images found in the workspace's files.

const CI_USER = 'ci-bot';
const CI_PASSWORD = 'Tok3n-Server-Pa55word';
const HT_USER = 'puller';
const HT_PASSWORD = 'Htpasswd-Right-Pa55word';
const WRONG_PASSWORD = 'Wr0ng-Htpasswd-Pa55word';

type Run = ActionRun & { post?: ActionRun };

/** The stand-in's log line, with what it saw of the private Docker config while it ran. */
type Invocation = StandinInvocation & {
  image?: string;
  dockerConfigDir?: string;
  dockerConfigDirMode?: string;
  dockerConfigMode?: string;
};

interface OutputImage {
  ref: string;
  digest?: string;
  status?: string;
  verdict?: string;
  error?: string;
  tags?: string[];
  origins?: { file: string; line: number }[];
}

let mirror: ReleaseMirror;

beforeAll(async () => {
  mirror = await startReleaseMirror();
}, 60_000);

afterAll(async () => {
  await mirror?.close();
});

function baseInputs(extra: Record<string, string>): Record<string, string> {
  return {
    'trivy-download-url': mirror.baseUrl,
    'trivy-checksum': mirror.sha256,
    'cache-db': 'false',
    'upload-sarif': 'false',
    'pr-comment': 'never',
    parallel: '2',
    'fail-on': 'none',
    ...extra,
  };
}

async function run(
  inputs: Record<string, string>,
  opts: { post?: boolean; workspace?: string; env?: Record<string, string> } = {},
): Promise<Run & { log: Invocation[] }> {
  const logFile = path.join(tempDir('isg-reg-log-'), 'standin.log');
  const result = await runAction({
    inputs: baseInputs(inputs),
    env: { STANDIN_LOG: logFile, ...opts.env },
    post: opts.post ?? true,
    ...(opts.workspace ? { dirs: { workspace: opts.workspace } } : {}),
  });
  return { ...result, log: readStandinLog(logFile) };
}

/** Image scans only (scansIn's filter), keeping the fields this file reads. */
function scansOf(r: { log: Invocation[] }): Invocation[] {
  return r.log.filter((i) => scansIn([i]).length === 1);
}

function outputImages(r: Run): OutputImage[] {
  expect(r.outputs.images, `no images output\n${r.stdout}\n${r.stderr}`).toBeTruthy();
  return JSON.parse(r.outputs.images) as OutputImage[];
}

function resultsFile(r: Run) {
  return JSON.parse(fs.readFileSync(r.outputs['results-file'], 'utf8')) as {
    images: (OutputImage & { target: OutputImage & { tags?: string[] } })[];
    skipped?: { ref: string; reason: string; origins?: { file: string; line: number }[] }[];
  };
}

/**
 * Every place a secret could leak: stdout, stderr (main and post), outputs, the summary, every file under
 * output-dir and every Trivy argv. `::add-mask::` lines hand a secret to the runner, which never shows them.
 */
function expectNoSecrets(r: Run & { log: Invocation[] }, secrets: string[]): void {
  const outputDir = r.outputs['results-file'] ? path.dirname(r.outputs['results-file']) : undefined;
  const haystacks: [string, string][] = [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
    ['post stdout', r.post?.stdout ?? ''],
    ['post stderr', r.post?.stderr ?? ''],
    ['outputs', JSON.stringify(r.outputs)],
    ['summary', r.summary],
    ...(outputDir ? filesUnder(outputDir) : []).map((f): [string, string] => [f, fs.readFileSync(f, 'utf8')]),
    ...r.log.map((i): [string, string] => ['trivy argv', JSON.stringify(i.argv)]),
  ];
  for (const [where, raw] of haystacks) {
    const text = raw.replace(/^::add-mask::.*$/gm, '');
    for (const s of secrets) expect(text.includes(s), `a secret appears in ${where}`).toBe(false);
  }
}

function basic(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString('base64');
}

describe('token auth (a token server in front of the registry)', () => {
  let registry: TestRegistry;
  const digests: Record<string, string> = {};

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', users: { [CI_USER]: CI_PASSWORD } });
    const api = {
      labels: { 'standin.report': 'alpine-vulns' },
      layerContent: 'api',
      created: '2026-03-01T00:00:00Z',
    };
    digests.api = (await registry.push('team/api', '1.0', api)).digest;
    await registry.push('team/api', 'stable', api); // the same image under a second tag
    digests.web = (
      await registry.push('team/web', '2.0', { layerContent: 'web', created: '2026-02-01T00:00:00Z' })
    ).digest;
    const db = { layerContent: 'db', created: '2026-01-01T00:00:00Z' };
    digests.db = (await registry.push('other/db', '5', db)).digest;
    await registry.push('other/db', 'latest', db);
  }, 60_000);

  afterAll(async () => {
    await registry?.close();
  });

  test('registry-username/registry-password: discovery, digest lookups and every scan authenticate', async () => {
    const host = registry.host;
    const r = await run({
      registry: `${host}/team`,
      images: `${host}/other/db:5\n${host}/other/db:latest`,
      'registry-username': CI_USER,
      'registry-password': CI_PASSWORD,
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const images = outputImages(r);
    expect(images.every((i) => i.status === 'scanned')).toBe(true);
    expect(new Set(images.map((i) => i.digest))).toEqual(new Set([digests.api, digests.web, digests.db]));

    // Discovery listed the catalog with a token the token server issued to our user (only the action asks
    // for the catalog scope: Trivy pulls images, it never lists).
    const requests = registry.tokenServer!.requests;
    expect(requests).toContainEqual(
      expect.objectContaining({ user: CI_USER, status: 200, scopes: ['registry:catalog:*'] }),
    );
    expect(requests.filter((q) => q.status !== 200)).toEqual([]);

    // other/db:5 and other/db:latest are one digest: the action's own (authenticated) digest lookup saw that,
    // so Trivy ran once per digest — three scans, not four.
    const scans = scansOf(r);
    expect(scans.map((s) => s.image).sort()).toEqual(
      [`${host}/other/db:5`, `${host}/team/api:1.0`, `${host}/team/web:2.0`].sort(),
    );

    // Trivy got the credentials from the private Docker config only, 0600 in a 0700 directory, which the post
    // step removed.
    const dir = r.state.dockerConfigDir;
    expect(dir).toBeTruthy();
    for (const s of scans) {
      expect(s.exitCode).toBe(0);
      expect(s.credentialEnv).toEqual(['DOCKER_CONFIG']);
      expect(s).toMatchObject({ dockerConfigDir: dir, dockerConfigDirMode: '700', dockerConfigMode: '600' });
    }
    expect(r.post?.exitCode).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);

    expectNoSecrets(r, [CI_PASSWORD, basic(CI_USER, CI_PASSWORD)]);
  }, 60_000);

  test('registry-token: a bearer token obtained beforehand lands in the Docker config as registrytoken', async () => {
    const host = registry.host;
    const scopes = ['repository:team/api:pull', 'repository:other/db:pull'];
    const realm = new URL(registry.tokenServer!.realm);
    realm.searchParams.set('service', registry.tokenServer!.service);
    for (const s of scopes) realm.searchParams.append('scope', s);
    const res = await fetch(realm, { headers: { authorization: `Basic ${basic(CI_USER, CI_PASSWORD)}` } });
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { token: string }).token;
    const before = registry.tokenServer!.requests.length;

    // No post step here, so the private Docker config can be read as Trivy read it (the test removes it).
    const r = await run(
      {
        images: `${host}/team/api:1.0\n${host}/other/db:5\n${host}/other/db:latest`,
        'registry-token': token,
      },
      { post: false },
    );
    const dir = r.state.dockerConfigDir;
    let config: unknown;
    let modes: string[];
    try {
      const file = path.join(dir, 'config.json');
      config = JSON.parse(fs.readFileSync(file, 'utf8'));
      modes = [dir, file].map((p) => (fs.statSync(p).mode & 0o777).toString(8));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(config).toEqual({ auths: { [host]: { registrytoken: token } } });
    expect(modes).toEqual(['700', '600']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const images = outputImages(r);
    expect(images.every((i) => i.status === 'scanned')).toBe(true);
    expect(new Set(images.map((i) => i.digest))).toEqual(new Set([digests.api, digests.db]));
    // The token was sent as it is: neither the action nor Trivy asked the token server for another one.
    expect(registry.tokenServer!.requests.length).toBe(before);
    // The digest lookups used it too: other/db's two tags were scanned once.
    const scans = scansOf(r);
    expect(scans.map((s) => s.image).sort()).toEqual([`${host}/other/db:5`, `${host}/team/api:1.0`].sort());
    for (const s of scans) {
      expect(s.credentialEnv).toEqual(['DOCKER_CONFIG']);
      expect(s.dockerConfigDir).toBe(dir);
    }
    expectNoSecrets(r, [token, CI_PASSWORD]);
  }, 60_000);

  describe('wrong credentials on one registry, right ones on another', () => {
    let htpasswd: TestRegistry;
    let r: Awaited<ReturnType<typeof run>>;

    beforeAll(async () => {
      htpasswd = await startRegistry({ auth: 'htpasswd', users: { [HT_USER]: HT_PASSWORD } });
      await htpasswd.push('private/app', '1.0', { layerContent: 'private app' });
      await htpasswd.push('private/tool', '2.0', { layerContent: 'private tool' });
      r = await run({
        images: [
          `${htpasswd.host}/private/app:1.0`,
          `${htpasswd.host}/private/tool:2.0`,
          `${registry.host}/team/web:2.0`,
        ].join('\n'),
        'registry-auth': [
          `- registry: ${htpasswd.host}`,
          `  username: ${HT_USER}`,
          `  password: ${WRONG_PASSWORD}`,
          `- registry: ${registry.host}`,
          `  username: ${CI_USER}`,
          `  password: "${CI_PASSWORD}"`,
        ].join('\n'),
      });
    }, 60_000);

    afterAll(async () => {
      await htpasswd?.close();
    });

    test('the refused images fail with the reason; the image on the other registry is scanned', () => {
      const images = outputImages(r);
      const fine = images.find((i) => i.ref === `${registry.host}/team/web:2.0`);
      expect(fine).toMatchObject({ status: 'scanned', digest: digests.web });
      const results = resultsFile(r);
      for (const ref of [`${htpasswd.host}/private/app:1.0`, `${htpasswd.host}/private/tool:2.0`]) {
        expect(images.find((i) => i.ref === ref)).toMatchObject({ status: 'failed', verdict: 'error' });
        const error = results.images.find((i) => i.target.ref === ref)?.error ?? '';
        // names the registry, what was tried (scheme and user, never the password) and where it came from
        expect(error).toContain(`${htpasswd.host} refused`);
        expect(error).toContain(`tried: Basic as user ${HT_USER}`);
        expect(error).toContain('registry-auth[1]');
        expect(r.summary).toContain(`${htpasswd.host}/private/`);
      }
      expect(r.summary).toContain(`tried: Basic as user ${HT_USER}`);
      // A failed image fails the gate even with fail-on: none.
      expect(r.outputs.result).toBe('fail');
      expect(r.exitCode).toBe(1);
    });

    test('ONE error for the refused registry, and Trivy is not sent to be refused again', () => {
      const refusals = r.stdout.split('\n').filter((l) => l.startsWith(`::error::${htpasswd.host} refused`));
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toContain(`tried: Basic as user ${HT_USER}`);
      expect(refusals[0]).toContain('2 images');
      const scans = scansOf(r);
      expect(scans.map((s) => s.image)).toEqual([`${registry.host}/team/web:2.0`]);
      expect(r.stdout).not.toContain('UNAUTHORIZED');
    });

    test('no secret reaches any log, output, file or argv', () => {
      expectNoSecrets(r, [
        WRONG_PASSWORD,
        CI_PASSWORD,
        basic(HT_USER, WRONG_PASSWORD),
        basic(CI_USER, CI_PASSWORD),
      ]);
    });
  });
});

describe('registry discovery through the bundle', () => {
  let registry: TestRegistry;
  /** What was pushed: the test's own record, from which the expected set is derived. */
  const pushed: { repository: string; tag: string; digest: string; created: string }[] = [];

  // repository, tag, created (shared content = shared digest when created matches too)
  const PLAN: [string, string, string, string?][] = [
    ['acme/api', '1.0', '2026-01-01T00:00:00Z'],
    ['acme/api', '1.1', '2026-02-01T00:00:00Z', 'shared'],
    ['acme/api', '1.2', '2026-03-01T00:00:00Z', 'api-1.2'],
    ['acme/api', 'latest', '2026-03-01T00:00:00Z', 'api-1.2'], // the same image as 1.2
    ['acme/api', '1.3-rc', '2026-04-01T00:00:00Z'], // excluded by exclude-tags
    ['acme/api', 'dev-5f3a', '2026-05-01T00:00:00Z'], // not matched by the tags regex
    ['acme/web', '2.0', '2026-02-01T00:00:00Z', 'shared'], // the same image as acme/api:1.1
    ['acme/web', '2.1', '2026-03-15T00:00:00Z'],
    ['acme/worker', '3.0', '2025-12-01T00:00:00Z'],
    ['acme/worker', '2.9', '2025-11-01T00:00:00Z'],
    ['acme/internal/tool', '0.1', '2026-06-01T00:00:00Z'], // excluded by exclude-repositories
    ['acme/legacy', '9.9', '2026-06-10T00:00:00Z'], // not in repositories
    ['other/api', '1.0', '2026-07-01T00:00:00Z'], // outside the namespace
  ];
  const TAGS = /^(\d+\.\d+(-rc)?|latest)$/;
  const PER_REPOSITORY = 2;
  const MAX_IMAGES = 4;

  function discoveryInputs(extra: Record<string, string>): Record<string, string> {
    return {
      registry: `${registry.host}/acme`,
      repositories: 'api\nweb\nacme/worker\ninternal/**', // relative to the namespace or full names
      'exclude-repositories': 'internal/**',
      tags: `/${TAGS.source}/`,
      'exclude-tags': '*-rc',
      'max-images-per-repository': String(PER_REPOSITORY),
      'max-images': String(MAX_IMAGES),
      ...extra,
    };
  }

  /**
   * The expected discovery, derived from `pushed` step by step as the inputs above say: selected repositories and
   * tags; tags of one digest merged; newest PER_REPOSITORY per repository; newest first overall; the first
   * MAX_IMAGES unique digests kept (a digest already kept costs nothing), the rest skipped.
   */
  function expected() {
    const repositories = ['acme/api', 'acme/web', 'acme/worker']; // legacy: not included; internal/tool: excluded
    const kept: { ref: string; digest: string; created: string; tags: string[] }[] = [];
    for (const repository of repositories) {
      const byDigest = new Map<string, { tags: string[]; created: string }>();
      for (const p of pushed.filter((x) => x.repository === repository)) {
        if (!TAGS.test(p.tag) || p.tag.endsWith('-rc')) continue;
        const group = byDigest.get(p.digest) ?? { tags: [], created: p.created };
        group.tags.push(p.tag);
        byDigest.set(p.digest, group);
      }
      const images = [...byDigest.entries()]
        .map(([digest, g]) => ({ digest, created: g.created, tags: g.tags.sort() }))
        .sort((a, b) => b.created.localeCompare(a.created))
        .slice(0, PER_REPOSITORY);
      for (const i of images) kept.push({ ...i, ref: `${registry.host}/${repository}:${i.tags[0]}` });
    }
    kept.sort((a, b) => b.created.localeCompare(a.created) || a.ref.localeCompare(b.ref));
    const counted = new Set<string>();
    const scanned: typeof kept = [];
    const skipped: typeof kept = [];
    for (const k of kept) {
      if (counted.has(k.digest)) scanned.push(k);
      else if (counted.size < MAX_IMAGES) {
        counted.add(k.digest);
        scanned.push(k);
      } else skipped.push(k);
    }
    return { scanned, skipped, uniqueDigests: counted };
  }

  beforeAll(async () => {
    registry = await startRegistry();
    for (const [repository, tag, created, content] of PLAN) {
      const { digest } = await registry.push(repository, tag, {
        created,
        layerContent: content ?? `${repository}:${tag}`,
      });
      pushed.push({ repository, tag, digest, created });
    }
    // The fixture is what it claims: shared content is one digest, across tags and across repositories.
    const digestOf = (r: string, t: string) => pushed.find((p) => p.repository === r && p.tag === t)!.digest;
    expect(digestOf('acme/api', 'latest')).toBe(digestOf('acme/api', '1.2'));
    expect(digestOf('acme/web', '2.0')).toBe(digestOf('acme/api', '1.1'));
    expect(new Set(pushed.map((p) => p.digest)).size).toBe(PLAN.length - 2);
  }, 60_000);

  afterAll(async () => {
    await registry?.close();
  });

  test('mode discover: exactly the expected images, newest first, tags of one digest merged, the rest skipped', async () => {
    const r = await run(discoveryInputs({ mode: 'discover' }), { post: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const want = expected();
    // sanity of the derivation itself: filters and both caps really cut something here
    expect(want.skipped.length).toBeGreaterThan(0);
    expect(want.scanned.length).toBeGreaterThan(want.uniqueDigests.size);

    const images = outputImages(r);
    expect(images.map((i) => i.ref)).toEqual(want.scanned.map((w) => w.ref));
    for (const [i, w] of want.scanned.entries()) {
      expect(images[i].digest).toBe(w.digest);
      expect([...(images[i].tags ?? [])].sort()).toEqual(w.tags);
    }
    // newest first within each repository (by the creation time pushed)
    const created = new Map(pushed.map((p) => [`${registry.host}/${p.repository}:${p.tag}`, p.created]));
    for (const repository of ['acme/api', 'acme/web', 'acme/worker']) {
      const times = images
        .filter((i) => i.ref.startsWith(`${registry.host}/${repository}:`))
        .map((i) => created.get(i.ref)!);
      expect(times).toEqual([...times].sort().reverse());
    }
    // No Trivy in discover mode.
    expect(scansOf(r)).toEqual([]);
    // The images over max-images are named, with a warning.
    expect(r.stdout).toMatch(new RegExp(`::warning::.*max-images`));
    for (const s of want.skipped) expect(r.stdout).toContain(`skipped ${s.ref}`);
  }, 60_000);

  test('scan mode: the same images are scanned once per digest; those over max-images are listed as skipped', async () => {
    const r = await run(discoveryInputs({}), { post: false });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const want = expected();
    const scans = scansOf(r);
    expect(scans).toHaveLength(want.uniqueDigests.size);
    const results = resultsFile(r);
    expect(new Set(results.images.map((i) => i.digest))).toEqual(want.uniqueDigests);
    for (const s of want.skipped) {
      const entry = results.skipped?.find((k) => k.ref.startsWith(s.ref));
      expect(entry, `${s.ref} in results.json skipped`).toBeDefined();
      expect(entry!.reason).toContain('max-images');
      expect(r.summary).toContain(s.ref);
    }
    expect(results.skipped).toHaveLength(want.skipped.length);
    expect(r.stdout).toMatch(/::warning::.*max-images/);
  }, 60_000);

  test('discover-files: Dockerfile, Compose and Kubernetes references are scanned and keep their file:line', async () => {
    const host = registry.host;
    const ws = tempDir('isg-reg-ws-');
    fs.mkdirSync(path.join(ws, 'deploy'));
    fs.writeFileSync(
      path.join(ws, 'Dockerfile'),
      [
        'ARG BASE_TAG=3.0', // 1
        `ARG REGISTRY=${host}`, // 2
        'FROM ${REGISTRY}/acme/worker:${BASE_TAG} AS build', // 3
        'RUN make', // 4
        'FROM build AS test', // 5: a stage, not an image
        'RUN make test', // 6
        'FROM scratch', // 7: no image at all
        'COPY --from=build /out /out', // 8
        `FROM ${host}/acme/web:2.1`, // 9
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(ws, 'compose.yaml'),
      [
        'services:', // 1
        '  api:', // 2
        `    image: ${host}/acme/api:1.2`, // 3
        '  web:', // 4
        '    image: ${WEB_IMAGE}', // 5: unknown until deploy time
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(ws, 'deploy', 'app.yaml'),
      [
        'apiVersion: apps/v1', // 1
        'kind: Deployment', // 2
        'metadata: { name: api }', // 3
        'spec:', // 4
        '  template:', // 5
        '    spec:', // 6
        '      containers:', // 7
        '        - name: api', // 8
        `          image: ${host}/acme/api:1.1`, // 9
        '---', // 10
        'apiVersion: batch/v1', // 11
        'kind: CronJob', // 12
        'metadata: { name: nightly }', // 13
        'spec:', // 14
        '  jobTemplate:', // 15
        '    spec:', // 16
        '      template:', // 17
        '        spec:', // 18
        '          initContainers:', // 19
        '            - name: init', // 20
        `              image: ${host}/acme/api:latest`, // 21: the same image as api:1.2
        '',
      ].join('\n'),
    );
    const r = await run(
      { 'discover-files': 'Dockerfile\ncompose.yaml\ndeploy/*.yaml' },
      { workspace: ws, post: false },
    );
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const digestOf = (repository: string, tag: string) =>
      pushed.find((p) => p.repository === repository && p.tag === tag)!.digest;

    const results = resultsFile(r);
    const originsOf = (digest: string) =>
      results.images
        .filter((i) => i.digest === digest)
        .flatMap((i) => i.target.origins ?? [])
        .map((o) => `${o.file}:${o.line}`)
        .sort();
    expect(results.images.every((i) => i.status === 'scanned')).toBe(true);
    expect(originsOf(digestOf('acme/worker', '3.0'))).toEqual(['Dockerfile:3']);
    expect(originsOf(digestOf('acme/web', '2.1'))).toEqual(['Dockerfile:9']);
    expect(originsOf(digestOf('acme/api', '1.2'))).toEqual(['compose.yaml:3', 'deploy/app.yaml:21']);
    expect(originsOf(digestOf('acme/api', '1.1'))).toEqual(['deploy/app.yaml:9']);
    // four images, each scanned once (api:1.2 and api:latest are one digest); nothing named `build` or `scratch`
    const scans = scansOf(r);
    expect(scans).toHaveLength(4);
    const scanned = scans.map((s) => s.image ?? '');
    const isApiLatest = (ref: string) => ref === `${host}/acme/api:1.2` || ref === `${host}/acme/api:latest`;
    expect(scanned.filter(isApiLatest)).toHaveLength(1);
    expect(scanned.filter((ref) => !isApiLatest(ref)).sort()).toEqual(
      [`${host}/acme/worker:3.0`, `${host}/acme/web:2.1`, `${host}/acme/api:1.1`].sort(),
    );
    // the unresolvable reference is listed, with where it is and why, and not scanned
    expect(results.skipped).toEqual([
      expect.objectContaining({
        ref: '${WEB_IMAGE}',
        origins: [expect.objectContaining({ file: 'compose.yaml', line: 5 })],
      }),
    ]);
    expect(results.skipped![0].reason).toContain('WEB_IMAGE');
    // (the summary escapes Markdown: `${WEB\_IMAGE}`)
    expect(r.summary.replace(/\\_/g, '_')).toMatch(/\| \$\{WEB_IMAGE\} \| .*WEB_IMAGE has no value/);
  }, 60_000);
});

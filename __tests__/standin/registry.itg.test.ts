import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  pushImage,
  startLocalRegistry,
  type LocalRegistry,
  type PushedImage,
} from '../../test-support/trivy-standin/push-image.js';
import { offlineImageArgs, readStandinLog, runStandin } from './standin-helpers.js';

// The stand-in really fetches the image from a real registry (Debian's docker-registry), so the report's digests
// are those of the pushed image, and refusals carry the registry's own text.

const home = mkdtempSync(path.join(os.tmpdir(), 'standin-reg-'));
const cacheDir = path.join(home, 'cache');
let open: LocalRegistry;
let locked: LocalRegistry;
let vulnsImage: PushedImage;
let nodeImage: PushedImage;
let privateImage: PushedImage;
const user = 'ci-bot';
const password = 'pa55-w0rd-standin';

beforeAll(async () => {
  [open, locked] = await Promise.all([startLocalRegistry(), startLocalRegistry({ user, password })]);
  vulnsImage = await pushImage(open.host, 'team/api', '1.0', {
    labels: { 'standin.report': 'alpine-vulns' },
    created: '2026-02-03T04:05:06Z',
  });
  nodeImage = await pushImage(open.host, 'team/web', 'v2', { labels: { 'standin.report': 'node-app' } });
  privateImage = await pushImage(locked.host, 'private/app', 'latest', { auth: { user, password } });
  const r = await runStandin(['image', '--download-db-only', '--cache-dir', cacheDir, '--quiet'], {}, home);
  expect(r.exitCode).toBe(0);
});
afterAll(async () => {
  await Promise.all([open?.close(), locked?.close()]);
  rmSync(home, { recursive: true, force: true });
});

const scanArgs = (ref: string, ...extra: string[]) => [
  ...offlineImageArgs(cacheDir),
  '--quiet',
  ...extra,
  ref,
];

describe('a scan fetches the image it names', () => {
  test('report carries the pushed manifest digest, config digest and created time', async () => {
    const ref = `${open.host}/team/api:1.0`;
    const r = await runStandin(scanArgs(ref), {}, home);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.SchemaVersion).toBe(2);
    expect(report.ArtifactName).toBe(ref);
    expect(report.Metadata.RepoDigests).toEqual([`${open.host}/team/api@${vulnsImage.digest}`]);
    expect(report.Metadata.ImageID).toBe(vulnsImage.configDigest);
    expect(report.Metadata.ImageConfig.created).toBe('2026-02-03T04:05:06Z');
    const vulns = report.Results.flatMap(
      (x: { Vulnerabilities?: { Severity: string }[] }) => x.Vulnerabilities ?? [],
    );
    expect(new Set(vulns.map((v: { Severity: string }) => v.Severity))).toEqual(
      new Set(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN']),
    );
    expect(report.Results[0].Target).toContain(ref);
    expect(report.Results[0].Packages?.length).toBeGreaterThan(0); // --list-all-pkgs defaults to true
  });

  test('a digest reference resolves to the same image; no label gives the clean template', async () => {
    const plain = await pushImage(open.host, 'team/plain', 'x');
    const ref = `${open.host}/team/plain@${plain.digest}`;
    const out = path.join(home, 'plain.json');
    const r = await runStandin(scanArgs(ref, '--output', out), {}, home);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.Metadata.RepoDigests).toEqual([`${open.host}/team/plain@${plain.digest}`]);
    expect(report.Results.flatMap((x: { Vulnerabilities?: unknown[] }) => x.Vulnerabilities ?? [])).toEqual(
      [],
    );
  });

  test('--list-all-pkgs=false, --severity, --pkg-types and --scanners shape the report', async () => {
    const ref = `${open.host}/team/web:v2`;
    const all = JSON.parse((await runStandin(scanArgs(ref, '--scanners', 'vuln,secret'), {}, home)).stdout);
    expect(all.Results.map((x: { Class: string }) => x.Class)).toEqual([
      'os-pkgs',
      'lang-pkgs',
      'lang-pkgs',
      'secret',
    ]);
    expect(all.Metadata.RepoDigests).toEqual([`${open.host}/team/web@${nodeImage.digest}`]);

    const r = await runStandin(
      scanArgs(
        ref,
        '--list-all-pkgs=false',
        '--severity',
        'CRITICAL,HIGH',
        '--pkg-types',
        'library',
        '--scanners',
        'vuln',
      ),
      {},
      home,
    );
    const report = JSON.parse(r.stdout);
    expect(report.Results.every((x: { Packages?: unknown }) => x.Packages === undefined)).toBe(true);
    expect(report.Results.map((x: { Class: string }) => x.Class)).toEqual(['lang-pkgs', 'lang-pkgs']);
    expect(report.Results[0].Vulnerabilities).toBeUndefined(); // express's only finding is MEDIUM
    const sev = report.Results.flatMap((x: { Vulnerabilities?: { Severity: string }[] }) =>
      (x.Vulnerabilities ?? []).map((v) => v.Severity),
    );
    expect(sev.length).toBeGreaterThan(0);
    expect(sev.every((s: string) => s === 'HIGH' || s === 'CRITICAL')).toBe(true);
  });

  test('--skip-files / --skip-dirs: files Trivy never analysed have no findings (globs, leading / ignored)', async () => {
    const ref = `${open.host}/team/web:v2`;
    const classes = async (...extra: string[]) =>
      (
        JSON.parse(
          (await runStandin(scanArgs(ref, '--scanners', 'vuln,secret', ...extra), {}, home)).stdout,
        ) as {
          Results: { Class: string; Target: string }[];
        }
      ).Results.map((x) => x.Target);
    const all = await classes();
    expect(all).toContain('/usr/src/app/.env');
    expect(await classes('--skip-files', '/usr/src/app/.env')).not.toContain('/usr/src/app/.env');
    expect(await classes('--skip-files', '**/*.env')).toEqual(all.filter((t) => t !== '/usr/src/app/.env'));
    const noApp = await classes('--skip-dirs', 'usr/src/app');
    expect(noApp).not.toContain('usr/src/app/package-lock.json');
    expect(noApp).not.toContain('/usr/src/app/.env');
    expect(noApp.length).toBe(all.length - 2); // OS packages and Node.js itself are not files under the dir
  });

  test('--ignore-policy: a missing file is fatal; simple ignore rules apply; other Rego is refused', async () => {
    const ref = `${open.host}/team/web:v2`;
    const missing = await runStandin(
      scanArgs(ref, '--ignore-policy', path.join(home, 'nope.rego')),
      {},
      home,
    );
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(
      /unable to read the policy file: open .*nope\.rego: no such file or directory/,
    );

    const policy = path.join(home, 'ignore.rego');
    writeFileSync(policy, 'package trivy\n\nignore {\n  input.PkgName == "express"\n}\n');
    const r = await runStandin(scanArgs(ref, '--ignore-policy', policy), {}, home);
    expect(r.exitCode).toBe(0);
    const ids = (
      JSON.parse(r.stdout) as { Results: { Vulnerabilities?: { PkgName: string }[] }[] }
    ).Results.flatMap((x) => (x.Vulnerabilities ?? []).map((v) => v.PkgName));
    expect(ids).not.toContain('express');
    expect(ids).toContain('semver');

    writeFileSync(policy, 'package trivy\n\nignore {\n  input.CVSS.nvd.V3Score < 7\n}\n');
    const unsupported = await runStandin(scanArgs(ref, '--ignore-policy', policy), {}, home);
    expect(unsupported.exitCode).toBe(1);
    expect(unsupported.stderr).toContain('evaluates only ignore rules of input.Field == "value" lines');
  });

  test('the secret config (--secret-config, default trivy-secret.yaml in the cwd) disables rules by ID', async () => {
    const ref = `${open.host}/team/web:v2`;
    const secrets = async (...extra: string[]) =>
      (
        JSON.parse(
          (await runStandin(scanArgs(ref, '--scanners', 'vuln,secret', ...extra), {}, home)).stdout,
        ) as {
          Results: { Class: string }[];
        }
      ).Results.filter((x) => x.Class === 'secret').length;
    expect(await secrets()).toBe(1);
    const config = path.join(home, 'secret-rules.yaml');
    writeFileSync(config, 'disable-rules:\n  - aws-access-key-id\n');
    expect(await secrets('--secret-config', config)).toBe(0);
    expect(await secrets('--secret-config', path.join(home, 'absent.yaml'))).toBe(1); // missing: built-in rules
  });

  test('--detection-priority and --vuln-severity-source take only the values Trivy allows', async () => {
    const ref = `${open.host}/team/web:v2`;
    const bad = await runStandin(scanArgs(ref, '--detection-priority', 'fast'), {}, home);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('invalid value "fast" (allowed values: precise,comprehensive)');
    const source = await runStandin(scanArgs(ref, '--vuln-severity-source', 'nvd,vendor'), {}, home);
    expect(source.exitCode).toBe(1);
    expect(source.stderr).toContain('invalid value "vendor"');
  });

  test('the config file sets them too (scan.skip-files, scan.detection-priority…), flags win', async () => {
    const ref = `${open.host}/team/web:v2`;
    const config = path.join(home, 'settings.yaml');
    writeFileSync(
      config,
      'scan:\n  skip-files:\n    - usr/src/app/.env\n  detection-priority: comprehensive\nvulnerability:\n  severity-source:\n    - debian\n    - nvd\n',
    );
    const log = path.join(home, 'settings.log');
    const r = await runStandin(scanArgs(ref, '--config', config), { STANDIN_LOG: log }, home);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toContain('/usr/src/app/.env');
    const flagged = await runStandin(
      scanArgs(ref, '--config', config, '--detection-priority', 'precise'),
      { STANDIN_LOG: log },
      home,
    );
    expect(flagged.exitCode).toBe(0);
    const [fromFile, fromFlag] = readStandinLog(log) as unknown as { settings: Record<string, unknown> }[];
    expect(fromFile.settings).toMatchObject({
      detectionPriority: 'comprehensive',
      severitySources: ['debian', 'nvd'],
      skipFiles: ['usr/src/app/.env'],
    });
    expect(fromFlag.settings.detectionPriority).toBe('precise');
  });

  test('a missing tag exits 1 with the registry error (MANIFEST_UNKNOWN)', async () => {
    const ref = `${open.host}/team/api:nope`;
    const r = await runStandin(scanArgs(ref), {}, home);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`unable to find the specified image "${ref}"`);
    expect(r.stderr).toContain(
      `remote error: GET http://${open.host}/v2/team/api/manifests/nope: MANIFEST_UNKNOWN: manifest unknown`,
    );
  });

  test('--timeout shorter than the scan -> context deadline exceeded, exit 1', async () => {
    const r = await runStandin(
      scanArgs(`${open.host}/team/api:1.0`, '--timeout', '300ms'),
      { STANDIN_SCAN_DELAY_MS: '3000' },
      home,
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('context deadline exceeded');
    expect(r.stdout).toBe('');
  });
});

describe('credentials, the way Trivy takes them', () => {
  const ref = () => `${locked.host}/private/app:latest`;

  test('no credentials: refused with the registry text', async () => {
    const r = await runStandin(scanArgs(ref()), {}, home);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `GET http://${locked.host}/v2/private/app/manifests/latest: UNAUTHORIZED: authentication required`,
    );
  });

  test('wrong password: refused', async () => {
    const r = await runStandin(scanArgs(ref()), { TRIVY_USERNAME: user, TRIVY_PASSWORD: 'wrong' }, home);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('UNAUTHORIZED');
  });

  test('TRIVY_USERNAME/TRIVY_PASSWORD comma lists: a later pair that works is used; names logged, values never in argv', async () => {
    const log = path.join(home, 'creds.log');
    const r = await runStandin(
      scanArgs(ref()),
      { TRIVY_USERNAME: `someone,${user}`, TRIVY_PASSWORD: `nope,${password}`, STANDIN_LOG: log },
      home,
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).Metadata.RepoDigests).toEqual([
      `${locked.host}/private/app@${privateImage.digest}`,
    ]);
    const line = readStandinLog(log).at(-1)!;
    expect(line.credentialEnv).toEqual(expect.arrayContaining(['TRIVY_USERNAME', 'TRIVY_PASSWORD']));
    // The log records the child's whole environment on purpose (leak searches read it); nothing else holds a value.
    expect(JSON.stringify({ ...line, env: undefined })).not.toContain(password);
    expect((line as { env?: Record<string, string> }).env?.TRIVY_PASSWORD).toBe(`nope,${password}`);
  });

  test.each([
    [
      'auth',
      (h: string) => ({ auths: { [h]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }),
    ],
    ['username/password', (h: string) => ({ auths: { [`https://${h}`]: { username: user, password } } })],
  ])('$DOCKER_CONFIG/config.json auths (%s)', async (_kind, config) => {
    const dir = path.join(home, `docker-${_kind.replace('/', '-')}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config(locked.host)));
    const r = await runStandin(scanArgs(ref()), { DOCKER_CONFIG: dir }, home);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).Metadata.ImageID).toBe(privateImage.configDigest);
  });

  test('a Docker config for another host does not leak to this one', async () => {
    const dir = path.join(home, 'docker-other');
    mkdirSync(dir, { recursive: true });
    const auth = Buffer.from(`${user}:${password}`).toString('base64');
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth } } }));
    const r = await runStandin(scanArgs(ref()), { DOCKER_CONFIG: dir }, home);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('UNAUTHORIZED');
  });
});

describe('the fs scan cache lock', () => {
  test('two scans on one --cache-dir with the fs backend: the second fails after ~5 s; memory backend does not lock', async () => {
    const ref = `${open.host}/team/api:1.0`;
    const shared = path.join(home, 'shared-cache');
    await runStandin(['image', '--download-db-only', '--cache-dir', shared, '--quiet'], {}, home);
    const fsArgs = ['image', '--format', 'json', '--skip-db-update', '--cache-dir', shared, '--quiet', ref];
    const first = runStandin(fsArgs, { STANDIN_SCAN_DELAY_MS: '7000' }, home);
    const lock = path.join(shared, 'fanal', 'fanal.db.lock');
    for (let i = 0; i < 100 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(lock)).toBe(true);

    const memArgs = [
      'image',
      '--format',
      'json',
      '--skip-db-update',
      '--cache-backend',
      'memory',
      '--cache-dir',
      shared,
      '--quiet',
      ref,
    ];
    const [second, memory] = await Promise.all([runStandin(fsArgs, {}, home), runStandin(memArgs, {}, home)]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain('cache may be in use by another process');
    expect(memory.exitCode).toBe(0);
    expect(JSON.parse(memory.stdout).ArtifactName).toBe(ref);

    const done = await first;
    expect(done.exitCode).toBe(0);
    expect(existsSync(lock)).toBe(false); // released on exit
  });
});

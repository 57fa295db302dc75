import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRegistry, type PushedImage, type TestRegistry } from '../../test-support/registry.js';
import { runStandin } from './standin-helpers.js';

// Bearer (token) auth over TLS: the stand-in follows the registry's challenge to the token server with the
// credentials Trivy would use, and trusts the self-signed certificate through NODE_EXTRA_CA_CERTS only.

const home = mkdtempSync(path.join(os.tmpdir(), 'standin-token-'));
const cacheDir = path.join(home, 'cache');
let registry: TestRegistry;
let pushed: PushedImage;
let user: string;
let password: string;

beforeAll(async () => {
  registry = await startRegistry({ auth: 'token', tls: true });
  [[user, password]] = Object.entries(registry.users);
  pushed = await registry.push('secure/app', '3.0', { labels: { 'standin.report': 'alpine-vulns' } });
  expect(
    (await runStandin(['image', '--download-db-only', '--cache-dir', cacheDir, '-q'], {}, home)).exitCode,
  ).toBe(0);
});
afterAll(async () => {
  await registry?.close();
  rmSync(home, { recursive: true, force: true });
});

const args = (ref: string) => [
  'image',
  '-f',
  'json',
  '--skip-db-update',
  '--cache-backend',
  'memory',
  '--cache-dir',
  cacheDir,
  '-q',
  ref,
];

test('anonymous: the token server grants no access and the registry text is reported over https', async () => {
  const ref = `${registry.host}/secure/app:3.0`;
  const r = await runStandin(args(ref), { ...registry.env }, home);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(`GET https://${registry.host}/v2/secure/app/manifests/3.0:`);
});

test('TRIVY_USERNAME/TRIVY_PASSWORD are exchanged for a token; the report names the pushed digest', async () => {
  const ref = `${registry.host}/secure/app:3.0`;
  const before = registry.tokenServer!.requests.length;
  const r = await runStandin(
    args(ref),
    { ...registry.env, TRIVY_USERNAME: user, TRIVY_PASSWORD: password },
    home,
  );
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout).Metadata.RepoDigests).toEqual([`${registry.host}/secure/app@${pushed.digest}`]);
  const grants = registry.tokenServer!.requests.slice(before);
  expect(
    grants.some(
      (g) => g.user === user && g.status === 200 && g.scopes.includes('repository:secure/app:pull'),
    ),
  ).toBe(true);
});

test('without NODE_EXTRA_CA_CERTS the self-signed registry is not trusted', async () => {
  const r = await runStandin(
    args(`${registry.host}/secure/app:3.0`),
    { TRIVY_USERNAME: user, TRIVY_PASSWORD: password },
    home,
  );
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain('remote error:');
});

test('a Docker config registrytoken is sent as the bearer token directly', async () => {
  const realm = new URL(registry.tokenServer!.realm);
  realm.searchParams.set('service', registry.tokenServer!.service);
  realm.searchParams.set('scope', 'repository:secure/app:pull');
  const res = await fetch(realm, {
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
  });
  const { token } = (await res.json()) as { token: string };
  const dir = path.join(home, 'docker-token');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ auths: { [registry.host]: { registrytoken: token } } }),
  );
  const before = registry.tokenServer!.requests.length;
  const r = await runStandin(
    args(`${registry.host}/secure/app:3.0`),
    { ...registry.env, DOCKER_CONFIG: dir },
    home,
  );
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout).Metadata.ImageID).toBe(pushed.configDigest);
  expect(registry.tokenServer!.requests.length).toBe(before); // no exchange: the token was used as given
});

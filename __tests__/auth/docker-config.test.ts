import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  defaultDockerConfigFile,
  dockerConfigFor,
  trivyEnvFor,
  writeDockerConfig,
} from '../../src/auth/docker-config.js';
import type { HostCredential } from '../../src/auth/host-credential.js';
import { MemoryLogger } from '../../src/infra/logger.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const creds: HostCredential[] = [
  { registry: 'ghcr.io', username: 'x-access-token', password: 'ghs_1', via: 'github-token' },
  { registry: 'localhost:5000', username: 'ci', password: 'p:w', via: 'registry-auth[1]' },
  { registry: 'tok.example.com', token: 'bearer-1', via: 'registry-auth[2]' },
  { registry: 'docker.io', username: 'me', password: 'dckr_pat', via: 'registry-auth[3]' },
];

test('one auths entry per host, each with only its own secret (Docker Hub under its two keys)', () => {
  const { auths } = dockerConfigFor(creds);
  expect(auths).toEqual({
    'ghcr.io': { auth: b64('x-access-token:ghs_1') },
    'localhost:5000': { auth: b64('ci:p:w') },
    'tok.example.com': { registrytoken: 'bearer-1' },
    'https://index.docker.io/v1/': { auth: b64('me:dckr_pat') },
    'docker.io': { auth: b64('me:dckr_pat') },
  });
  // Each host's entry decodes to its own password and no other.
  const decoded = Buffer.from(auths['localhost:5000'].auth!, 'base64').toString();
  for (const other of ['ghs_1', 'bearer-1', 'dckr_pat']) expect(decoded).not.toContain(other);
});

describe('writeDockerConfig', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'isg-docker-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a 0700 directory with a 0600 config.json', async () => {
    const dir = path.join(root, 'docker-config');
    const { file } = await writeDockerConfig(dir, creds);
    expect(file).toBe(path.join(dir, 'config.json'));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const written = JSON.parse(await readFile(file, 'utf8'));
    expect(Object.keys(written.auths).sort()).toEqual([
      'docker.io',
      'ghcr.io',
      'https://index.docker.io/v1/',
      'localhost:5000',
      'tok.example.com',
    ]);
    expect(written).not.toHaveProperty('credsStore');
  });

  test('an existing loose directory and file are tightened and replaced', async () => {
    const dir = path.join(root, 'loose');
    await mkdir(dir, { mode: 0o755 });
    await writeFile(path.join(dir, 'config.json'), '{"auths":{"old.io":{"auth":"x"}}}', { mode: 0o644 });
    const { file } = await writeDockerConfig(dir, creds.slice(0, 1));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).auths)).toEqual(['ghcr.io']);
  });

  test('earlier logins for other hosts are kept; configured hosts are ours', async () => {
    const inheritFrom = path.join(root, 'home-config.json');
    await writeFile(
      inheritFrom,
      JSON.stringify({
        auths: {
          'quay.io': { auth: b64('q:1') },
          'ghcr.io': { auth: b64('old:old') },
          'https://index.docker.io/v1/': { auth: b64('old:hub') },
        },
        credHelpers: { 'gcr.io': 'gcloud', 'ghcr.io': 'ghcr-helper' },
        credsStore: 'desktop',
      }),
    );
    const logger = new MemoryLogger();
    const { file } = await writeDockerConfig(path.join(root, 'c'), creds, { inheritFrom, logger });
    const written = JSON.parse(await readFile(file, 'utf8'));
    expect(written.auths['quay.io']).toEqual({ auth: b64('q:1') });
    expect(written.auths['ghcr.io']).toEqual({ auth: b64('x-access-token:ghs_1') });
    expect(written.auths['https://index.docker.io/v1/']).toEqual({ auth: b64('me:dckr_pat') });
    expect(written.credHelpers).toEqual({ 'gcr.io': 'gcloud' });
    expect(written).not.toHaveProperty('credsStore');
  });

  test('a missing or unreadable config to inherit from is no problem', async () => {
    const { file } = await writeDockerConfig(path.join(root, 'd'), creds.slice(0, 1), {
      inheritFrom: path.join(root, 'none.json'),
    });
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).auths)).toEqual(['ghcr.io']);
  });
});

describe('trivyEnvFor', () => {
  test('adds only DOCKER_CONFIG (the rest of the environment is allow-listed by the process start)', () => {
    const base = { PATH: '/bin', DOCKER_CONFIG: '/home/.docker', INPUT_PASSWORD: 'p' };
    const env = trivyEnvFor('/tmp/private', base);
    expect(env).toEqual({ DOCKER_CONFIG: '/tmp/private' });
    expect(base.DOCKER_CONFIG).toBe('/home/.docker');
  });

  test('global Trivy credentials in the job env: left out, with a warning that names them (not their values)', () => {
    const logger = new MemoryLogger();
    const env = trivyEnvFor(
      '/tmp/p',
      { TRIVY_USERNAME: 'u', TRIVY_PASSWORD: 'leak-me', TRIVY_REGISTRY_TOKEN: 'tok', HOME: '/h' },
      logger,
    );
    expect(env).toEqual({ DOCKER_CONFIG: '/tmp/p' });
    const [warning] = logger.messages('warning');
    expect(warning).toMatch(/TRIVY_PASSWORD, TRIVY_REGISTRY_TOKEN, TRIVY_USERNAME are set/);
    expect(warning).toContain('every registry');
    expect(warning).not.toContain('leak-me');
  });

  test('other TRIVY_* in the job env (they would change the report): left out, and the user told which', () => {
    const logger = new MemoryLogger();
    const env = trivyEnvFor('/tmp/p', { TRIVY_SEVERITY: 'CRITICAL', TRIVY_IGNOREFILE: '/x' }, logger);
    expect(env).toEqual({ DOCKER_CONFIG: '/tmp/p' });
    expect(logger.messages('warning')).toEqual([
      expect.stringMatching(
        /^TRIVY_IGNOREFILE, TRIVY_SEVERITY are set in the environment but not passed to Trivy/,
      ),
    ]);
  });

  test('no warning when nothing was left out', () => {
    const logger = new MemoryLogger();
    trivyEnvFor('/tmp/p', { PATH: '/bin' }, logger);
    expect(logger.entries).toEqual([]);
  });
});

test('defaultDockerConfigFile follows DOCKER_CONFIG, else ~/.docker', () => {
  expect(defaultDockerConfigFile({ DOCKER_CONFIG: '/c' })).toBe('/c/config.json');
  expect(defaultDockerConfigFile({ HOME: '/home/u' })).toBe('/home/u/.docker/config.json');
});

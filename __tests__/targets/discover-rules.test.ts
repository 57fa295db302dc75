import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemoryLogger } from '../../src/infra/logger.js';
import { discoverFileReferences } from '../../src/targets/file-references.js';

// discover-files end to end over a temporary workspace: one rule per test.

let ws: string;
const files: Record<string, string> = {
  'docs/Dockerfile.5.md': 'FROM should-not-be-read:md\n',
  'docs/Dockerfile.txt': 'FROM should-not-be-read:txt\n',
  'app/Dockerfile.prod': 'FROM alpine:3.20\n',
  'multi/Dockerfile': [
    'FROM --platform=linux/amd64 alpine:3.20 AS a',
    'FROM --platform=linux/arm64 alpine:3.20 AS b',
    'FROM --platform=linux/arm64 alpine:3.20 AS c',
  ].join('\n'),
  'stack/compose.yaml': 'services:\n  api:\n    image: ${REGISTRY}/api:${TAG}\n    env_file: api.env\n',
  'stack/.env': 'REGISTRY=ghcr.io/acme\nTAG=3.1\n',
  'stack/api.env': 'TAG=never-used\n',
  'hostile/compose.yaml': 'services:\n  api:\n    image: acme/api:${TAG}\n',
  'platforms/Dockerfile': 'FROM acme/base-${TARGETARCH}\n',
};

beforeAll(async () => {
  ws = await mkdtemp(path.join(os.tmpdir(), 'isg-discover-rules-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(ws, name)), { recursive: true });
    await writeFile(path.join(ws, name), text);
  }
  await writeFile(path.join(path.dirname(ws), `${path.basename(ws)}.env`), 'TAG=stolen-secret\n');
  await symlink(path.join(path.dirname(ws), `${path.basename(ws)}.env`), path.join(ws, 'hostile/.env'));
});
afterAll(async () => {
  await rm(ws, { recursive: true, force: true });
  await rm(path.join(path.dirname(ws), `${path.basename(ws)}.env`), { force: true });
});

const refs = async (globs: string[], extra: { platform?: string } = {}) =>
  (await discoverFileReferences(globs, { workspace: ws, logger: new MemoryLogger(), ...extra })).targets.map(
    (t) => `${t.ref}${t.platform ? ` ${t.platform}` : ''}`,
  );

describe('which files are Dockerfiles', () => {
  test('Dockerfile.5.md and Dockerfile.txt are skipped when a wildcard matches them', async () => {
    expect(await refs(['docs/**', 'app/**'])).toEqual(['docker.io/library/alpine:3.20']);
  });

  test('a glob that names the file exactly reads it as a Dockerfile', async () => {
    expect(await refs(['docs/Dockerfile.5.md'])).toEqual(['docker.io/library/should-not-be-read:md']);
  });
});

test('the same image for two platforms is two targets, each origin with its platform', async () => {
  const { targets } = await discoverFileReferences(['multi/Dockerfile'], {
    workspace: ws,
    logger: new MemoryLogger(),
  });
  expect(targets.map((t) => [t.ref, t.platform, t.origins.map((o) => `${o.line} ${o.platform}`)])).toEqual([
    ['docker.io/library/alpine:3.20', 'linux/amd64', ['1 linux/amd64']],
    ['docker.io/library/alpine:3.20', 'linux/arm64', ['2 linux/arm64', '3 linux/arm64']],
  ]);
});

test('the platform input resolves TARGETARCH', async () => {
  expect(await refs(['platforms/Dockerfile'])).toEqual(['docker.io/acme/base-amd64:latest']);
  expect(await refs(['platforms/Dockerfile'], { platform: 'linux/arm64' })).toEqual([
    'docker.io/acme/base-arm64:latest',
  ]);
});

describe('Compose .env', () => {
  test('the .env beside the compose file feeds interpolation; env_file does not', async () => {
    expect(await refs(['stack/compose.yaml'])).toEqual(['ghcr.io/acme/api:3.1']);
  });

  test('a .env that is a symlink out of the workspace is not read: a warning, the image listed', async () => {
    const logger = new MemoryLogger();
    const { targets, unresolved } = await discoverFileReferences(['hostile/compose.yaml'], {
      workspace: ws,
      logger,
    });
    expect(targets).toEqual([]);
    expect(unresolved.map((u) => u.ref)).toEqual(['acme/api:${TAG}']);
    expect(
      logger.messages('warning').some((m) => m.startsWith('discover-files: hostile/.env not read')),
    ).toBe(true);
    expect(JSON.stringify(logger.entries)).not.toContain('stolen-secret');
  });
});

test('a .env value that makes no image reference is listed as written, its value not shown', async () => {
  await mkdir(path.join(ws, 'secrets'), { recursive: true });
  await writeFile(path.join(ws, 'secrets/compose.yaml'), 'services:\n  db:\n    image: ${DB_PASSWORD}\n');
  await writeFile(path.join(ws, 'secrets/.env'), 'DB_PASSWORD=Hunter2 With Spaces!\n');
  const logger = new MemoryLogger();
  const { targets, unresolved } = await discoverFileReferences(['secrets/compose.yaml'], {
    workspace: ws,
    logger,
  });
  expect(targets).toEqual([]);
  expect(unresolved.map((u) => u.ref)).toEqual(['${DB_PASSWORD}']);
  expect(JSON.stringify({ unresolved, log: logger.entries })).not.toContain('Hunter2');
});

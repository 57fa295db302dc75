import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import type { Target } from '../../src/model.js';
import { archiveChangedSinceInspection, inspectLocalImages } from '../../src/targets/inspect-local-images.js';
import { resolveListedTargets } from '../../src/targets/listed-images.js';
import {
  buildImage,
  dockerSaveEntries,
  ociLayoutEntries,
  sha256,
  tarOf,
  writeOciLayoutDir,
} from '../../test-support/local-image-files.js';

// Identity of archives and layouts, read before the scan: names from manifest.json / index.json annotations,
// digests checked against the bytes, every read confined and bounded; a problem fails that image alone.

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-inspect-'));
const workspace = path.join(base, 'ws');
const tempDir = path.join(base, 'rt');
fs.mkdirSync(workspace);
fs.mkdirSync(tempDir);
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

const image = (content: string) => buildImage(content);
const app = image('app');
const write = (relative: string, data: Buffer | string) => {
  const file = path.join(workspace, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
};

async function inspect(...entries: string[]) {
  const targets = resolveListedTargets(entries, { roots: { workspace, tempDir } });
  return inspectLocalImages(targets, { workspace, tempDir });
}

async function one(entry: string): Promise<Target> {
  const { targets, failures } = await inspect(entry);
  expect(failures).toEqual([]);
  return targets[0];
}

async function failure(entry: string): Promise<string> {
  const { targets, failures } = await inspect(entry, 'alpine:3');
  expect(targets.map((t) => t.ref)).toEqual(['docker.io/library/alpine:3']);
  expect(failures).toHaveLength(1);
  expect(failures[0].target.input).toBe(entry);
  expect(failures[0].error.startsWith(`\`images\`: ${JSON.stringify(entry)}`)).toBe(true);
  return failures[0].error;
}

describe('docker save archives', () => {
  test('named by the first RepoTags, no digest (no registry manifest), gzip or not', async () => {
    write('plain.tar', tarOf(dockerSaveEntries(app, ['ghcr.io/acme/app:pr-42', 'ghcr.io/acme/app:latest'])));
    write('packed.tar.gz', gzipSync(tarOf(dockerSaveEntries(app, ['ghcr.io/acme/app:pr-42']))));
    for (const entry of ['docker-archive:plain.tar', 'docker-archive:packed.tar.gz']) {
      const t = await one(entry);
      expect(t).toMatchObject({
        ref: 'ghcr.io/acme/app:pr-42',
        registry: 'ghcr.io',
        repository: 'acme/app',
        tag: 'pr-42',
      });
      expect(t.digest).toBeUndefined();
      expect(t.local).toMatchObject({ kind: 'archive', format: 'docker-archive' });
    }
  });

  test('an unnamed archive (saved by image ID) keeps the path it was given', async () => {
    write('unnamed.tar', tarOf(dockerSaveEntries(app, [])));
    expect(await one('docker-archive:unnamed.tar')).toMatchObject({
      ref: 'docker-archive:unnamed.tar',
      registry: 'local',
    });
  });

  test.each([
    [
      'two images in manifest.json',
      () => {
        const entries = dockerSaveEntries(app, ['a:1']);
        const manifest = entries.find((e) => e.name === 'manifest.json')!;
        const list = JSON.parse(manifest.data.toString()) as unknown[];
        manifest.data = Buffer.from(JSON.stringify([...list, ...list]));
        return tarOf(entries);
      },
      'must list exactly one image',
    ],
    [
      'a missing layer',
      () => tarOf(dockerSaveEntries(app, ['a:1']).filter((e) => !e.name.startsWith('layer'))),
      'names a layer the archive does not hold',
    ],
    [
      'an OCI layout given as docker-archive',
      () => tarOf(ociLayoutEntries(app)),
      'it is an OCI layout; use oci-archive:',
    ],
    [
      'manifest.json twice (Trivy would read the first, a naive reader the last)',
      () => {
        const other = image('other');
        const manifest = dockerSaveEntries(other, ['b:1']).filter((e) => e.name === 'manifest.json');
        return tarOf([...manifest, ...dockerSaveEntries(app, ['a:1']), ...dockerSaveEntries(other, ['b:1'])]);
      },
      'two entries of the same name',
    ],
    [
      'not a tar at all',
      () => Buffer.from('hello, this is not a tar archive'.repeat(40)),
      'it is not a tar archive',
    ],
    ['a truncated tar', () => tarOf(dockerSaveEntries(app, ['a:1'])).subarray(0, 700), 'truncated'],
  ])('%s fails that image alone', async (_name, build, reason) => {
    write('bad.tar', build());
    expect(await failure('docker-archive:bad.tar')).toContain(reason);
  });
});

describe('OCI layouts', () => {
  test('a directory: named by io.containerd.image.name, digest = the manifest digest the registry serves', async () => {
    await writeOciLayoutDir(path.join(workspace, 'oci'), app, { name: 'ghcr.io/acme/app:pr-42' });
    const t = await one('oci-dir:oci');
    expect(t).toMatchObject({ ref: 'ghcr.io/acme/app:pr-42', digest: app.manifestDigest });
    expect(t.local).toEqual({
      kind: 'archive',
      format: 'oci-dir',
      path: fs.realpathSync(path.join(workspace, 'oci')),
      imageId: app.configDigest,
    });
  });

  test('a tar in RUNNER_TEMP, and a multi-platform layout whose digest is its index', async () => {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: app.manifestMediaType,
            digest: app.manifestDigest,
            size: app.manifest.length,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
    );
    const entries = ociLayoutEntries(app).map((e) =>
      e.name === 'index.json'
        ? {
            name: 'index.json',
            data: Buffer.from(
              JSON.stringify({
                schemaVersion: 2,
                manifests: [
                  {
                    mediaType: 'application/vnd.oci.image.index.v1+json',
                    digest: sha256(index),
                    size: index.length,
                    annotations: { 'org.opencontainers.image.ref.name': 'ghcr.io/acme/app:multi' },
                  },
                ],
              }),
            ),
          }
        : e,
    );
    entries.push({ name: `blobs/sha256/${sha256(index).slice(7)}`, data: index });
    fs.writeFileSync(path.join(tempDir, 'multi.tar'), tarOf(entries));
    const t = await one(`oci-archive:${tempDir}/multi.tar`);
    expect(t).toMatchObject({ ref: 'ghcr.io/acme/app:multi', digest: sha256(index) });
  });

  test('a bare tag in ref.name is not a name: the layout keeps its path', async () => {
    await writeOciLayoutDir(path.join(workspace, 'tagonly'), app);
    const indexFile = path.join(workspace, 'tagonly/index.json');
    const doc = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { manifests: { annotations?: object }[] };
    doc.manifests[0].annotations = { 'org.opencontainers.image.ref.name': 'latest' };
    fs.writeFileSync(indexFile, JSON.stringify(doc));
    expect(await one('oci-dir:tagonly')).toMatchObject({
      ref: 'oci-dir:tagonly',
      digest: app.manifestDigest,
    });
  });

  test.each([
    [
      'a missing config blob',
      async (dir: string) => writeOciLayoutDir(dir, app, { omitBlob: app.configDigest }),
      `missing the blob ${app.configDigest}`,
    ],
    [
      'a manifest blob that does not match its digest',
      async (dir: string) => {
        await writeOciLayoutDir(dir, app);
        fs.writeFileSync(path.join(dir, 'blobs/sha256', app.manifestDigest.slice(7)), '{}');
      },
      'does not match its digest',
    ],
    [
      'an empty index',
      async (dir: string) => {
        await writeOciLayoutDir(dir, app);
        fs.writeFileSync(path.join(dir, 'index.json'), '{"manifests":[]}');
      },
      'lists no image',
    ],
    [
      'a huge index.json',
      async (dir: string) => {
        await writeOciLayoutDir(dir, app);
        fs.writeFileSync(path.join(dir, 'index.json'), Buffer.alloc(2 * 1024 * 1024, 0x20));
      },
      'index.json is larger than',
    ],
    [
      'index.json a symlink out',
      async (dir: string) => {
        await writeOciLayoutDir(dir, app);
        fs.rmSync(path.join(dir, 'index.json'));
        fs.symlinkSync('/etc/hostname', path.join(dir, 'index.json'));
      },
      'index.json is a symlink',
    ],
    [
      'a digest that is a path',
      async (dir: string) => {
        await writeOciLayoutDir(dir, app);
        fs.writeFileSync(
          path.join(dir, 'index.json'),
          JSON.stringify({ manifests: [{ digest: 'sha256:../../../etc/passwd' }] }),
        );
      },
      'has a digest that is not sha256:<hex>',
    ],
    [
      'a file, not a directory',
      (dir: string) => Promise.resolve(fs.writeFileSync(dir, 'x')),
      'give the layout directory',
    ],
  ])('%s fails that image alone', async (name, build, reason) => {
    const dir = path.join(workspace, `bad-${name.replace(/\W+/g, '-')}`);
    await build(dir);
    expect(await failure(`oci-dir:${path.relative(workspace, dir)}`)).toContain(reason);
  });

  test('the layout directory itself a symlink out of the roots is refused, never read', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-inspect-out-'));
    await writeOciLayoutDir(outside, app, { name: 'ghcr.io/acme/app:1' });
    fs.symlinkSync(outside, path.join(workspace, 'linked'));
    expect(await failure('oci-dir:linked')).toContain('resolves outside the workspace and RUNNER_TEMP');
    fs.rmSync(outside, { recursive: true, force: true });
  });

  test('a missing path fails that image, naming it', async () => {
    expect(await failure('docker-archive:nowhere.tar')).toContain('does not exist');
  });
});

describe('archiveChangedSinceInspection', () => {
  test('Trivy reading another image than the one inspected fails the image; the same one, or a registry image, passes', async () => {
    write('swap.tar', tarOf(dockerSaveEntries(app, ['ghcr.io/acme/app:1'])));
    const t = await one('docker-archive:swap.tar');
    expect(archiveChangedSinceInspection(t, app.configDigest)).toBeUndefined();
    expect(archiveChangedSinceInspection(t, image('swapped').configDigest)).toMatch(
      /^`images`: "docker-archive:swap.tar" changed while it was scanned .*nothing from this scan is kept$/,
    );
    const [remote] = resolveListedTargets(['ghcr.io/acme/app:1']);
    expect(archiveChangedSinceInspection(remote, image('x').configDigest)).toBeUndefined();
  });
});

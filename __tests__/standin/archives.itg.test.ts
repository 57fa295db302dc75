import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildImage,
  dockerSaveEntries,
  ociLayoutEntries,
  tarOf,
  writeOciLayoutDir,
} from '../../test-support/local-image-files.js';
import { offlineImageArgs, runStandin } from './standin-helpers.js';

// `trivy image --input` as Trivy does it (pkg/fanal/image/archive.go): a docker save tarball first, then an OCI
// layout (a directory, or a .tar it unpacks); the report names the input, takes RepoTags from manifest.json, has
// no RepoDigests, and ImageID is the config digest. `--image-src` with no daemon answering fails naming each source.

const home = mkdtempSync(path.join(os.tmpdir(), 'standin-archive-'));
const cacheDir = path.join(home, 'cache');
const image = buildImage('api', { 'standin.report': 'alpine-vulns' });

beforeAll(async () => {
  const r = await runStandin(['image', '--download-db-only', '--cache-dir', cacheDir, '--quiet'], {}, home);
  expect(r.exitCode).toBe(0);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const scan = (...args: string[]) => runStandin([...offlineImageArgs(cacheDir), '--quiet', ...args], {}, home);

interface Report {
  ArtifactName: string;
  Metadata: { ImageID: string; RepoTags: string[] | null; RepoDigests: string[] | null };
  Results: { Vulnerabilities?: unknown[] }[];
}

describe('--input', () => {
  test.each([
    [
      'a docker save tarball',
      'app.tar',
      () => tarOf(dockerSaveEntries(image, ['ghcr.io/acme/app:pr-1'])),
      ['ghcr.io/acme/app:pr-1'],
    ],
    [
      'an OCI layout tar',
      'oci.tar',
      () => tarOf(ociLayoutEntries(image, { name: 'ghcr.io/acme/app:pr-1' })),
      null,
    ],
  ])('%s', async (_name, file, build, repoTags) => {
    const input = path.join(home, file);
    writeFileSync(input, build());
    const r = await scan('--input', input);
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.ArtifactName).toBe(input);
    expect(report.Metadata).toMatchObject({
      ImageID: image.configDigest,
      RepoTags: repoTags,
      RepoDigests: null,
    });
    expect(report.Results.flatMap((x) => x.Vulnerabilities ?? []).length).toBeGreaterThan(0);
  });

  test('an OCI layout directory', async () => {
    const dir = path.join(home, 'layout');
    await writeOciLayoutDir(dir, image);
    const r = await scan('--input', dir);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Report).Metadata.ImageID).toBe(image.configDigest);
  });

  test('neither kind: both attempts in the error', async () => {
    const input = path.join(home, 'junk.tar');
    writeFileSync(input, 'not an archive');
    const r = await scan('--input', input);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`unable to open ${input} as a Docker image`);
    expect(r.stderr).toContain(`unable to open ${input} as an OCI Image`);
  });

  test('a layout missing a blob fails', async () => {
    const dir = path.join(home, 'missing');
    await writeOciLayoutDir(dir, image, { omitBlob: image.layers[0].digest });
    const r = await scan('--input', dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('invalid OCI image');
  });
});

describe('--image-src with no daemon', () => {
  test.each([
    ['docker', 'Cannot connect to the Docker daemon'],
    ['containerd', 'containerd socket not found'],
    ['podman', 'no podman socket found'],
  ])('%s: the error names the source tried', async (source, reason) => {
    const r = await scan('--image-src', source, '--', 'ghcr.io/acme/app:pr-1');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`unable to find the specified image "ghcr.io/acme/app:pr-1" in ["${source}"]`);
    expect(r.stderr).toContain(reason);
  });

  test('an unknown source is refused like Trivy refuses it', async () => {
    const r = await scan('--image-src', 'registry', '--', 'ghcr.io/acme/app:pr-1');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('invalid value "registry"');
  });
});

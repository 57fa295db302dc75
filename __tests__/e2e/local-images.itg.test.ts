import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ImageResult, ResultsFile } from '../../src/model.js';
import {
  dockerSaveEntries,
  fetchImage,
  ociLayoutEntries,
  tarOf,
  writeOciLayoutDir,
  type FetchedImage,
} from '../../test-support/local-image-files.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { readStandinLog, scansIn, tempDir, templateCounts } from './fixtures.js';
import { expectNoLeak, markedCredentialInputs, markedRunnerEnv } from './hardening-harness.js';

// Images that are not in a registry (yet), run as the runner runs it: an OCI layout directory, an OCI layout tar
// in RUNNER_TEMP and a `docker save` tarball, each written by the test from an image pushed to the real registry,
// are scanned through the stand-in with --input; they are named by their own manifest and carry the digests the
// registry records, so their SARIF categories and results line up with a later registry scan of the same image.
// Daemon sources are checked by argv and by the stand-in failing as Trivy does when no daemon answers. Hostile
// paths and contents fail that image alone, naming `images`; the others are still reported.

let registry: TestRegistry;
let mirror: ReleaseMirror;
let workspace: string;
let runnerTemp: string;
const pushed: Record<string, { digest: string; configDigest: string; image: FetchedImage }> = {};

beforeAll(async () => {
  [registry, mirror] = await Promise.all([startRegistry(), startReleaseMirror()]);
  const push = async (key: string, repository: string, report: string) => {
    const { digest, configDigest } = await registry.push(repository, '1.0', {
      labels: { 'standin.report': report },
      layerContent: key,
    });
    pushed[key] = { digest, configDigest, image: await fetchImage(registry.url, repository, '1.0') };
  };
  await push('web', 'app/web', 'alpine-vulns');
  await push('api', 'app/api', 'node-app');
  await push('tools', 'app/tools', 'clean');
  workspace = tempDir('isg-local-ws-');
  runnerTemp = tempDir('isg-local-temp-');
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

let logs = 0;

async function scan(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<{ run: ActionRun; results?: ResultsFile; scans: string[][]; log: string }> {
  const log = path.join(workspace, `standin-${++logs}.log`);
  const run = await runAction({
    inputs: {
      'trivy-download-url': mirror.baseUrl,
      'trivy-checksum': mirror.sha256,
      'upload-sarif': 'false',
      'pr-comment': 'never',
      gate: 'off',
      ...inputs,
    },
    env: { STANDIN_LOG: log, ...env },
    dirs: { workspace, temp: runnerTemp },
  });
  const file = run.outputs['results-file'];
  const results = file ? (JSON.parse(fs.readFileSync(file, 'utf8')) as ResultsFile) : undefined;
  return { run, results, scans: scansIn(readStandinLog(log)).map((s) => s.argv), log };
}

const named = (results: ResultsFile | undefined, ref: string): ImageResult => {
  const found = results?.images.find((i) => i.target.ref === ref);
  if (!found)
    throw new Error(`no image ${ref} in ${JSON.stringify(results?.images.map((i) => i.target.ref))}`);
  return found;
};

const write = (file: string, data: Buffer | string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
};

// Every finding: vulnerabilities, and secrets (the default `scanners` is vuln,secret, as in Trivy).
const countOf = (image: ImageResult) => image.findings.length;
const findingsIn = (template: string) => {
  const c = templateCounts(template);
  return c.CRITICAL + c.HIGH + c.MEDIUM + c.LOW + c.UNKNOWN;
};

describe('archives and OCI layouts', () => {
  test('each is scanned with --input, named by its manifest, with the digests the registry records', async () => {
    const webName = `${registry.host}/app/web:pr-42`;
    const apiName = `${registry.host}/app/api:pr-42`;
    const toolsName = `${registry.host}/app/tools:pr-42`;
    await writeOciLayoutDir(path.join(workspace, 'build/web-oci'), pushed.web.image, { name: webName });
    write(path.join(workspace, 'build/api.tar'), tarOf(dockerSaveEntries(pushed.api.image, [apiName])));
    write(
      path.join(runnerTemp, 'tools.tar'),
      tarOf(ociLayoutEntries(pushed.tools.image, { name: toolsName })),
    );

    const { run, results, scans } = await scan({
      images: [
        'oci-dir:build/web-oci',
        'docker-archive:build/api.tar',
        `oci-archive:${runnerTemp}/tools.tar`,
      ].join('\n'),
    });
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);

    // Trivy got each as --input, by its checked absolute path, with no image name and no --image-src.
    const inputs = scans.map((argv) => argv[argv.indexOf('--input') + 1]).sort();
    expect(inputs).toEqual(
      [
        fs.realpathSync(path.join(workspace, 'build/web-oci')),
        fs.realpathSync(path.join(workspace, 'build/api.tar')),
        fs.realpathSync(path.join(runnerTemp, 'tools.tar')),
      ].sort(),
    );
    for (const argv of scans) {
      expect(argv).not.toContain('--image-src');
      expect(argv).not.toContain('--');
    }

    const web = named(results, webName);
    expect(web).toMatchObject({
      status: 'scanned',
      digest: pushed.web.digest,
      imageId: pushed.web.configDigest,
    });
    expect(countOf(web)).toBe(findingsIn('alpine-vulns'));
    expect(web.target.local).toEqual({
      kind: 'archive',
      format: 'oci-dir',
      path: inputs.find((p) => p.endsWith('web-oci')),
      imageId: pushed.web.configDigest,
    });

    // docker save rewrites layers: there is no registry digest to claim, only the config digest.
    const api = named(results, apiName);
    expect(api).toMatchObject({ status: 'scanned', imageId: pushed.api.configDigest });
    expect(api.digest).toBeUndefined();
    expect(countOf(api)).toBe(findingsIn('node-app'));

    const tools = named(results, toolsName);
    expect(tools).toMatchObject({
      status: 'scanned',
      digest: pushed.tools.digest,
      imageId: pushed.tools.configDigest,
    });
    expect(tools.findings).toEqual([]);
  });

  test('a PR scan of the layout and the push job’s registry scan of repo@digest share category and alerts', async () => {
    const webName = `${registry.host}/app/web:pr-7`;
    await writeOciLayoutDir(path.join(workspace, 'build/pr-7'), pushed.web.image, { name: webName });
    // Both really scanned (earlier tests left results for this digest in RUNNER_TEMP's result store).
    const before = await scan({
      images: 'oci-dir:build/pr-7',
      'output-dir': 'out-pr',
      'cache-results': 'false',
    });
    const after = await scan({
      images: `${registry.host}/app/web@${pushed.web.digest}`,
      'output-dir': 'out-push',
      'cache-results': 'false',
    });
    expect(after.scans[0]).toEqual(expect.arrayContaining(['--image-src', 'remote']));

    const sarif = (run: ActionRun) =>
      JSON.parse(fs.readFileSync(run.outputs['sarif-file'], 'utf8')) as {
        runs: {
          automationDetails: { id: string };
          results: { partialFingerprints: Record<string, string> }[];
        }[];
      };
    const [pr] = sarif(before.run).runs;
    const [push] = sarif(after.run).runs;
    expect(pr.automationDetails.id).toBe(`image-scan/${registry.host}/app/web/`);
    expect(push.automationDetails.id).toBe(pr.automationDetails.id);
    const fingerprints = (r: typeof pr) => r.results.map((x) => JSON.stringify(x.partialFingerprints)).sort();
    expect(fingerprints(push)).toEqual(fingerprints(pr));
    expect(pr.results.length).toBe(findingsIn('alpine-vulns'));

    const [prImage] = before.results!.images;
    const [pushImage] = after.results!.images;
    expect([prImage.digest, prImage.imageId]).toEqual([pushImage.digest, pushImage.imageId]);
    expect(prImage.target.repository).toBe(pushImage.target.repository);
  });

  test('reuse keys on the layout’s digest; a docker save archive is never reused, so a rebuilt tag is rescanned', async () => {
    const name = `${registry.host}/app/api:pr-9`;
    await writeOciLayoutDir(path.join(workspace, 'build/reuse-oci'), pushed.web.image, {
      name: `${registry.host}/app/web:pr-9`,
    });
    write(path.join(workspace, 'build/reuse.tar'), tarOf(dockerSaveEntries(pushed.api.image, [name])));
    const images = 'oci-dir:build/reuse-oci\ndocker-archive:build/reuse.tar';
    const first = await scan({ images, 'output-dir': 'out-reuse-1' });
    // The same tag, rebuilt as another image (clean), in the same place.
    write(path.join(workspace, 'build/reuse.tar'), tarOf(dockerSaveEntries(pushed.tools.image, [name])));
    let second = await scan({ images, 'output-dir': 'out-reuse-2', reports: 'out-reuse-1/results.json' });
    if (second.results?.dbUpdatedAt !== first.results?.dbUpdatedAt) {
      // the hour turned between the runs: the stand-in's DB build changed and nothing may be reused
      second = await scan({ images, 'output-dir': 'out-reuse-2', reports: 'out-reuse-2/results.json' });
    }
    const layout = named(second.results, `${registry.host}/app/web:pr-9`);
    expect(layout.status).toBe('reused');
    expect(countOf(layout)).toBe(findingsIn('alpine-vulns'));
    const rebuilt = named(second.results, name);
    expect(rebuilt).toMatchObject({ status: 'scanned', imageId: pushed.tools.configDigest, findings: [] });
    expect(second.scans.map((argv) => argv[argv.indexOf('--input') + 1])).toEqual([
      fs.realpathSync(path.join(workspace, 'build/reuse.tar')),
    ]);
  });
});

describe('local daemons', () => {
  test('a daemon image is read from that daemon only, never looked up in a registry; the error names the source', async () => {
    // app/web:1.0 is in the registry too: a lookup there would have given the daemon image its digest. The Docker Hub
    // daemon image does not count as a host for the single-host credentials (else: "images on 2 hosts").
    const { run, results, scans } = await scan({
      images: [
        `docker:${registry.host}/app/web:1.0`,
        'docker:acme/tool:pr-1',
        `${registry.host}/app/api:1.0`,
      ].join('\n'),
      'registry-username': 'tester',
      'registry-password': 's3cret-Pa55word',
      'cache-results': 'false',
    });
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    const endOf = (ref: string) => scans.find((argv) => argv.at(-1) === ref)?.slice(-4);
    expect(endOf(`${registry.host}/app/web:1.0`)).toEqual([
      '--image-src',
      'docker',
      '--',
      `${registry.host}/app/web:1.0`,
    ]);
    expect(endOf('docker.io/acme/tool:pr-1')).toEqual([
      '--image-src',
      'docker',
      '--',
      'docker.io/acme/tool:pr-1',
    ]);
    expect(endOf(`${registry.host}/app/api:1.0`)).toEqual([
      '--image-src',
      'remote',
      '--',
      `${registry.host}/app/api:1.0`,
    ]);

    const failed = results!.images.find((i) => i.target.ref === `${registry.host}/app/web:1.0`)!;
    expect(failed.target.local).toEqual({ kind: 'daemon', daemon: 'docker' });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^local docker image \(image source docker\): /);
    expect(failed.error).toContain('in ["docker"]');
    expect(failed.error).toContain('Cannot connect to the Docker daemon');
    expect(failed.digest).toBeUndefined();
    expect(failed.target.digest).toBeUndefined();
    expect(named(results, `${registry.host}/app/api:1.0`)).toMatchObject({
      status: 'scanned',
      digest: pushed.api.digest,
    });
  });

  test('image-source applies to unprefixed entries', async () => {
    const { results, scans } = await scan({
      images: `${registry.host}/app/web:1.0`,
      'image-source': 'podman',
    });
    expect(scans).toHaveLength(1);
    expect(scans[0].slice(-4)).toEqual(['--image-src', 'podman', '--', `${registry.host}/app/web:1.0`]);
    expect(results!.images[0].error).toContain('podman error');
    expect(results!.images[0].error).toContain('in ["podman"]');
  });
});

describe('hostile paths and contents', () => {
  test('a path out of the workspace and RUNNER_TEMP is refused before any work, naming images', async () => {
    const { run, scans } = await scan({
      images: `docker-archive:../elsewhere/app.tar\n${registry.host}/app/web:1.0`,
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /::error::images: "docker-archive:\.\.\/elsewhere\/app\.tar" is outside the workspace and RUNNER_TEMP/,
    );
    expect(scans).toEqual([]);
  });

  test('ambiguous forms are refused before any work', async () => {
    const { run, scans } = await scan({ images: 'docker:27-cli' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      'is ambiguous: the Docker Hub image docker:27-cli or the local docker image 27-cli',
    );
    expect(scans).toEqual([]);
  });

  test('symlinks out, a missing blob, a huge or malformed manifest.json: each fails alone, naming images', async () => {
    const outside = tempDir('isg-local-outside-');
    write(path.join(outside, 'secret.tar'), tarOf(dockerSaveEntries(pushed.api.image, ['leak:1'])));
    fs.mkdirSync(path.join(workspace, 'build'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'secret.tar'), path.join(workspace, 'build/link.tar'));
    // A layout whose blob is a symlink to the runner's environment.
    await writeOciLayoutDir(path.join(workspace, 'build/sneaky'), pushed.web.image, { name: 'sneaky:1' });
    const layer = pushed.web.image.layers[0].digest.slice('sha256:'.length);
    fs.rmSync(path.join(workspace, 'build/sneaky/blobs/sha256', layer));
    fs.symlinkSync('/proc/self/environ', path.join(workspace, 'build/sneaky/blobs/sha256', layer));
    await writeOciLayoutDir(path.join(workspace, 'build/missing'), pushed.web.image, {
      name: 'missing:1',
      omitBlob: pushed.web.image.layers[0].digest,
    });
    write(
      path.join(workspace, 'build/huge.tar'),
      tarOf([{ name: 'manifest.json', data: Buffer.alloc(2 * 1024 * 1024, 0x20) }]),
    );
    write(
      path.join(workspace, 'build/malformed.tar'),
      tarOf([{ name: 'manifest.json', data: Buffer.from('[{"Config": ') }]),
    );
    write(path.join(workspace, 'build/good.tar'), tarOf(dockerSaveEntries(pushed.web.image, ['good:1'])));

    const entries = [
      'docker-archive:build/link.tar',
      'oci-dir:build/sneaky',
      'oci-dir:build/missing',
      'docker-archive:build/huge.tar',
      'docker-archive:build/malformed.tar',
      'docker-archive:build/good.tar',
    ];
    const { run, results, scans, log } = await scan(
      {
        images: [...entries, `${registry.host}/app/web:1.0`].join('\n'),
        'cache-results': 'false',
        ...markedCredentialInputs(),
      },
      markedRunnerEnv(),
    );
    expect(run.exitCode, run.stderr).toBe(0);
    // Trivy only ever saw the good archive and the registry image.
    expect(scans).toHaveLength(2);
    expect(scans.map((argv) => argv.at(-1)).sort()).toEqual(
      [fs.realpathSync(path.join(workspace, 'build/good.tar')), `${registry.host}/app/web:1.0`].sort(),
    );
    expect(named(results, `${registry.host}/app/web:1.0`).status).toBe('scanned');
    expect(named(results, 'docker.io/library/good:1').status).toBe('scanned');

    const errorOf = (entry: string) => {
      const image = results!.images.find((i) => i.target.input === entry);
      expect(image?.status, entry).toBe('failed');
      expect(image!.error).toMatch(
        new RegExp(`^\`images\`: ${JSON.stringify(entry).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      );
      return image!.error!;
    };
    expect(errorOf(entries[0])).toContain('resolves outside the workspace and RUNNER_TEMP');
    expect(errorOf(entries[1])).toContain('is a symlink; files of a layout are not followed');
    expect(errorOf(entries[2])).toContain(`missing the layer blob ${pushed.web.image.layers[0].digest}`);
    expect(errorOf(entries[3])).toContain('manifest.json is 2097152 bytes');
    expect(errorOf(entries[4])).toContain('manifest.json is not valid JSON');
    // Nothing from outside reached any output.
    const written =
      fs.readFileSync(run.outputs['results-file'], 'utf8') +
      fs.readFileSync(run.outputs['summary-file'], 'utf8');
    expect(written).not.toContain('leak:1');
    expect(written).not.toContain('PATH=');
    expectNoLeak(run, { standinLog: log });
  });
});

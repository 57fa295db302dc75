import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { parseWorkflowCommands, runAction } from '../../test-support/run-action.js';
import { readStandinLog, scansIn, tempDir } from './fixtures.js';

// discover-files through the bundle, against the real registry: a Dockerfile with a heredoc and one image on two
// platforms, a Compose file with `{{` outside its images and a `.env`, a Kubernetes manifest in JSON, a Kustomize
// overlay over a base, and a Helm template (skipped with a warning on its line).

let registry: TestRegistry;
let mirror: ReleaseMirror;
const digests: Record<string, string> = {};

beforeAll(async () => {
  [registry, mirror] = await Promise.all([startRegistry(), startReleaseMirror()]);
  digests.multi = (
    await registry.push('acme/multi', '1', {
      platforms: ['linux/amd64', 'linux/arm64'],
      layerContent: 'multi',
    })
  ).digest;
  digests.api = (await registry.push('acme/api', '1.0', { layerContent: 'api' })).digest;
  digests.web = (await registry.push('acme/web', '2.0', { layerContent: 'web' })).digest;
  // Only 3.0 exists: the base names 2.9, the overlay's override makes it 3.0. Scanning 2.9 would fail.
  digests.worker = (await registry.push('acme/worker', '3.0', { layerContent: 'worker' })).digest;
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

function workspace(host: string): string {
  const ws = tempDir('isg-discover-ws-');
  const write = (name: string, lines: string[]) => {
    fs.mkdirSync(path.dirname(path.join(ws, name)), { recursive: true });
    fs.writeFileSync(path.join(ws, name), lines.join('\n') + '\n');
  };
  write('Dockerfile', [
    `FROM --platform=linux/amd64 ${host}/acme/multi:1 AS amd`, // 1
    'RUN <<EOT python3', // 2
    `FROM ${host}/acme/never:1`, // 3: heredoc body
    'from huggingface_hub import snapshot_download', // 4: heredoc body
    'EOT', // 5
    `FROM --platform=linux/arm64 ${host}/acme/multi:1 AS arm`, // 6
  ]);
  write('compose.yaml', [
    'services:', // 1
    '  api:', // 2
    `    image: ${host}/acme/api:\${API_TAG}`, // 3: from .env
    '    logging:', // 4
    '      options:', // 5
    '        tag: "{{.Name}}"', // 6: not an image; does not skip the file
  ]);
  write('.env', ['API_TAG=1.0']);
  write('deploy/pod.json', [
    '{', // 1
    '  "apiVersion": "v1",', // 2
    '  "kind": "Pod",', // 3
    '  "spec": {', // 4
    '    "containers": [', // 5
    `      {"name": "web", "image": "${host}/acme/web:2.0"}`, // 6
    '    ]', // 7
    '  }', // 8
    '}', // 9
  ]);
  write('deploy/base/kustomization.yaml', ['resources:', '  - deployment.yaml']);
  write('deploy/base/deployment.yaml', [
    'apiVersion: apps/v1', // 1
    'kind: Deployment', // 2
    'spec:', // 3
    '  template:', // 4
    '    spec:', // 5
    '      containers:', // 6
    `        - image: ${host}/acme/worker:2.9`, // 7
  ]);
  write('deploy/overlay/kustomization.yaml', [
    'resources:', // 1
    '  - ../base', // 2
    '  - https://github.com/acme/shared//monitoring?ref=v1', // 3
    'images:', // 4
    `  - name: ${host}/acme/worker`, // 5
    '    newTag: "3.0"', // 6
  ]);
  write('chart/templates/deployment.yaml', [
    'spec:', // 1
    '  containers:', // 2
    '    - image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"', // 3
  ]);
  return ws;
}

describe('discover-files reads repository files as their tools do', () => {
  let r: Awaited<ReturnType<typeof runAction>>;
  let scans: { image: string; platform: string | undefined }[];
  let results: {
    images: {
      status: string;
      digest?: string;
      target: {
        ref: string;
        platform?: string;
        origins: { file: string; line: number; platform?: string; note?: string }[];
      };
    }[];
    skipped: { ref: string; reason: string; origins?: { file: string; line: number }[] }[];
  };

  beforeAll(async () => {
    const host = registry.host;
    const log = path.join(tempDir('isg-discover-log-'), 'standin.log');
    r = await runAction({
      inputs: {
        'discover-files': 'Dockerfile\ncompose.yaml\ndeploy/**\nchart/**',
        'trivy-download-url': mirror.baseUrl,
        'trivy-checksum': mirror.sha256,
        'cache-db': 'false',
        'upload-sarif': 'false',
        'pr-comment': 'never',
        'fail-on': 'none',
      },
      env: { ...registry.env, STANDIN_LOG: log },
      dirs: { workspace: workspace(host) },
      post: false,
    });
    scans = scansIn(readStandinLog(log)).map((s) => {
      const i = s.argv.indexOf('--platform');
      return { image: s.argv.at(-1) ?? '', platform: i >= 0 ? s.argv[i + 1] : undefined };
    });
    results = JSON.parse(fs.readFileSync(r.outputs['results-file'], 'utf8')) as typeof results;
  }, 180_000);

  test('the run succeeds and every image found is scanned', () => {
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(results.images.map((i) => i.status)).toEqual(results.images.map(() => 'scanned'));
  });

  test('one image on two FROM --platform lines: scanned once per platform, each origin with its platform', () => {
    const multi = scans.filter((s) => s.image.endsWith('/acme/multi:1'));
    expect(multi.map((s) => s.platform).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    const origins = results.images
      .filter((i) => i.target.ref.endsWith('/acme/multi:1'))
      .map((i) => [i.target.platform, i.target.origins.map((o) => `${o.file}:${o.line} ${o.platform}`)]);
    expect(origins.sort()).toEqual([
      ['linux/amd64', ['Dockerfile:1 linux/amd64']],
      ['linux/arm64', ['Dockerfile:6 linux/arm64']],
    ]);
  });

  test('heredoc bodies are not instructions', () => {
    expect(scans.map((s) => s.image).join('\n')).not.toMatch(/never|huggingface/);
    expect(JSON.stringify(results)).not.toMatch(/never|huggingface/);
  });

  test('{{ outside an image does not skip a Compose file; .env feeds ${API_TAG}', () => {
    const api = results.images.find((i) => i.target.ref.endsWith('/acme/api:1.0'));
    expect(api?.digest).toBe(digests.api);
    expect(api?.target.origins).toEqual([expect.objectContaining({ file: 'compose.yaml', line: 3 })]);
  });

  test('a Kubernetes manifest in JSON, with its line', () => {
    const web = results.images.find((i) => i.target.ref.endsWith('/acme/web:2.0'));
    expect(web?.target.origins).toEqual([expect.objectContaining({ file: 'deploy/pod.json', line: 6 })]);
  });

  test('the Kustomize overlay rewrites the base: 3.0 is scanned, the origin stays on the base line', () => {
    const worker = results.images.filter((i) => i.target.ref.includes('/acme/worker:'));
    expect(worker.map((i) => i.target.ref.split('/').at(-1))).toEqual(['worker:3.0']);
    expect(worker[0].digest).toBe(digests.worker);
    expect(worker[0].target.origins).toEqual([
      expect.objectContaining({
        file: 'deploy/base/deployment.yaml',
        line: 7,
        note: expect.stringContaining('newTag: 3.0) at deploy/overlay/kustomization.yaml:5'),
      }),
    ]);
    expect(r.summary).toContain('### Rewritten references (1)');
    expect(r.summary).toMatch(
      /deploy\/base\/deployment\.yaml:7 \| Kustomize images override of .*newTag: 3\.0/,
    );
    // the remote base is listed, with its line, and not fetched
    expect(results.skipped).toContainEqual(
      expect.objectContaining({
        ref: 'https://github.com/acme/shared//monitoring?ref=v1',
        origins: [expect.objectContaining({ file: 'deploy/overlay/kustomization.yaml', line: 3 })],
      }),
    );
  });

  test('a Helm template is skipped with a warning on its line; each reference not scanned is said once', () => {
    const warnings = parseWorkflowCommands(r.stdout).filter((c) => c.command === 'warning');
    expect(warnings).toContainEqual(
      expect.objectContaining({
        properties: expect.objectContaining({ file: 'chart/templates/deployment.yaml', line: '3' }),
      }),
    );
    const remote = warnings.filter((w) => w.message.includes('github.com/acme/shared'));
    expect(remote).toHaveLength(1);
    expect(remote[0].properties).toMatchObject({ file: 'deploy/overlay/kustomization.yaml', line: '3' });
    expect(r.stdout.split('\n').filter((l) => l.includes('github.com/acme/shared//monitoring')).length).toBe(
      1,
    );
  });
});

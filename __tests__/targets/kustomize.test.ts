import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemoryLogger } from '../../src/infra/logger.js';
import {
  applyImageOverride,
  parseKustomization,
  type ImageOverride,
} from '../../src/targets/file-formats/kustomization.js';
import { discoverFileReferences } from '../../src/targets/file-references.js';

const deployment = (image: string) =>
  [
    'apiVersion: apps/v1', //1
    'kind: Deployment', //2
    'spec:', //3
    '  template:', //4
    '    spec:', //5
    '      containers:', //6
    `        - image: ${image}`, //7
  ].join('\n');

describe('applyImageOverride (Kustomize images transformer)', () => {
  const o = (fields: Partial<ImageOverride>): ImageOverride => ({
    name: 'nginx',
    origin: { file: 'k/kustomization.yaml', line: 3 },
    ...fields,
  });
  test.each<[string, Partial<ImageOverride>, string]>([
    ['nginx:1.25', { newTag: '1.27' }, 'nginx:1.27'],
    ['nginx', { newTag: '1.27' }, 'nginx:1.27'],
    ['nginx:1.25', { newName: 'ghcr.io/acme/nginx' }, 'ghcr.io/acme/nginx:1.25'],
    ['nginx:1.25', { newName: 'ghcr.io/acme/nginx', newTag: '2' }, 'ghcr.io/acme/nginx:2'],
    ['nginx:1.25', { digest: 'sha256:abc', newTag: 'ignored' }, 'nginx@sha256:abc'],
    ['nginx@sha256:old', { newTag: '1.27' }, 'nginx:1.27'],
    ['nginx-other:1', { newTag: '9' }, 'nginx-other:1'],
    ['library/nginx:1', { newTag: '9' }, 'library/nginx:1'],
    ['localhost:5000/nginx:1', { name: 'localhost:5000/nginx', newTag: '9' }, 'localhost:5000/nginx:9'],
  ])('%s with %j → %s', (image, fields, expected) => {
    expect(applyImageOverride(image, [o(fields)]).image).toBe(expected);
  });

  test('tags stay strings: newTag 1.10 is "1.10"', () => {
    const k = parseKustomization('images:\n  - name: app\n    newTag: 1.10\n', 'kustomization.yaml');
    expect('images' in k && k.images[0].newTag).toBe('1.10');
  });
});

describe('discover-files reads kustomizations', () => {
  let ws: string;
  const files: Record<string, string> = {
    'base/kustomization.yaml':
      'resources:\n  - deployment.yaml\nimages:\n  - name: app\n    newTag: base-1\n',
    'base/deployment.yaml': deployment('app:0'),
    'components/sidecar/kustomization.yaml': 'kind: Component\nresources:\n  - sidecar.json\n',
    'components/sidecar/sidecar.json': JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      spec: { containers: [{ image: 'envoy:1' }] },
    }),
    'overlays/prod/kustomization.yaml': [
      'resources:', //1
      '  - ../../base', //2
      '  - extra.yaml', //3
      '  - https://github.com/acme/remote//base?ref=v1', //4
      '  - ../../../outside.yaml', //5
      '  - escape.yaml', //6
      'components:', //7
      '  - ../../components/sidecar', //8
      'images:', //9
      '  - name: app', //10
      '    newName: ghcr.io/acme/app', //11
      '    newTag: 2.0.0', //12
      '  - name: envoy', //13
      '    digest: sha256:' + 'e'.repeat(64), //14
    ].join('\n'),
    'overlays/prod/extra.yaml': deployment('redis:7'),
    'loop/a/kustomization.yaml': 'resources:\n  - ../b\n',
    'loop/b/kustomization.yaml': 'resources:\n  - ../a\n  - pod.yaml\n',
    'loop/b/pod.yaml': deployment('busybox:1'),
  };
  beforeAll(async () => {
    ws = await mkdtemp(path.join(os.tmpdir(), 'isg-kustomize-'));
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(ws, name)), { recursive: true });
      await writeFile(path.join(ws, name), text);
    }
    await writeFile(path.join(path.dirname(ws), `${path.basename(ws)}-secret.yaml`), deployment('leaked:1'));
    await symlink(
      path.join(path.dirname(ws), `${path.basename(ws)}-secret.yaml`),
      path.join(ws, 'overlays/prod/escape.yaml'),
    );
  });
  afterAll(async () => {
    await rm(ws, { recursive: true, force: true });
    await rm(path.join(path.dirname(ws), `${path.basename(ws)}-secret.yaml`), { force: true });
  });

  test('an overlay rewrites its bases and components; the origin stays on the manifest line with a note', async () => {
    const logger = new MemoryLogger();
    const { targets, unresolved } = await discoverFileReferences(
      ['overlays/**', 'base/**', 'components/**'],
      {
        workspace: ws,
        logger,
      },
    );
    const byRef = Object.fromEntries(targets.map((t) => [t.ref, t.origins]));
    // base/ and components/ are matched too, but they are read through the overlay: what prod deploys.
    expect(Object.keys(byRef).sort()).toEqual([
      `docker.io/library/envoy@sha256:${'e'.repeat(64)}`,
      'docker.io/library/redis:7',
      'ghcr.io/acme/app:2.0.0',
    ]);
    expect(byRef['ghcr.io/acme/app:2.0.0']).toEqual([
      {
        file: 'base/deployment.yaml',
        line: 7,
        column: 18,
        note:
          'Kustomize images override of app (newTag: base-1) at base/kustomization.yaml:4; then ' +
          'Kustomize images override of app (newName: ghcr.io/acme/app, newTag: 2.0.0) at overlays/prod/kustomization.yaml:10',
      },
    ]);
    expect(byRef['docker.io/library/redis:7']).toEqual([
      { file: 'overlays/prod/extra.yaml', line: 7, column: 18 },
    ]);
    expect(unresolved.map((u) => [u.ref, u.origins?.[0]?.line, u.reason])).toEqual([
      [
        'https://github.com/acme/remote//base?ref=v1',
        4,
        expect.stringMatching(/remote Kustomize base; not followed/),
      ],
      ['../../../outside.yaml', 5, expect.stringMatching(/outside the workspace; not read/)],
      ['escape.yaml', 6, expect.stringMatching(/not a regular file inside the workspace/)],
    ]);
    expect(JSON.stringify({ targets, unresolved, log: logger.entries })).not.toContain('leaked');
  });

  test('the base alone, when no overlay is matched, gets its own overrides', async () => {
    const { targets } = await discoverFileReferences(['base/kustomization.yaml'], {
      workspace: ws,
      logger: new MemoryLogger(),
    });
    expect(targets.map((t) => t.ref)).toEqual(['docker.io/library/app:base-1']);
  });

  test('a cycle of kustomizations ends, and is listed', async () => {
    const { targets, unresolved } = await discoverFileReferences(['loop/a/kustomization.yaml'], {
      workspace: ws,
      logger: new MemoryLogger(),
    });
    expect(targets.map((t) => t.ref)).toEqual(['docker.io/library/busybox:1']);
    expect(unresolved.map((u) => u.reason)).toEqual([expect.stringMatching(/includes itself \(a cycle\)/)]);
  });
});

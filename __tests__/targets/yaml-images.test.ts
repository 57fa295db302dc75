import { describe, expect, test } from 'vitest';
import {
  isWorkflowPath,
  parseManifestImages,
  parseWorkflowImages,
} from '../../src/targets/file-formats/yaml-images.js';

const at = (file: string, line: number, column: number) => ({ file, line, column });

describe('Compose files', () => {
  test('services.*.image with the line and column of the value', () => {
    const text = [
      'services:',
      '  api:',
      '    image: ghcr.io/acme/api:1.2',
      '  db:',
      '    image: "postgres:16"',
      '  built:',
      '    build: .',
    ].join('\n');
    expect(parseManifestImages(text, 'compose.yaml')).toEqual({
      found: [
        { image: 'ghcr.io/acme/api:1.2', origin: at('compose.yaml', 3, 12) },
        { image: 'postgres:16', origin: at('compose.yaml', 5, 13) },
      ],
      unresolved: [],
    });
  });

  test('interpolation: defaults are used, variables without one are unresolved', () => {
    const text = [
      'services:',
      '  a:',
      '    image: redis:${REDIS_TAG:-7}',
      '  b:',
      '    image: ${REGISTRY}/api:1',
      '  c:',
      '    image: "nginx:$${NOT_A_VAR}"',
    ].join('\n');
    const f = parseManifestImages(text, 'docker-compose.yml');
    expect(f.found.map((x) => x.image)).toEqual(['redis:7', 'nginx:${NOT_A_VAR}']);
    expect(f.unresolved).toEqual([
      {
        text: '${REGISTRY}/api:1',
        reason: expect.stringMatching(/\$REGISTRY has no value/),
        origin: at('docker-compose.yml', 5, 12),
      },
    ]);
  });

  test('a service with build: names an image Compose builds, not one to pull', () => {
    const text = 'services:\n  app:\n    build: .\n    image: acme/app:dev\n  db:\n    image: postgres:16\n';
    const f = parseManifestImages(text, 'compose.yaml');
    expect(f.found.map((x) => x.image)).toEqual(['postgres:16']);
    expect(f.unresolved).toEqual([
      {
        text: 'acme/app:dev',
        reason: expect.stringContaining('built by Compose'),
        origin: at('compose.yaml', 4, 12),
      },
    ]);
  });

  test('JSON-style quoted keys', () => {
    const f = parseManifestImages('{"spec": {"containers": [{"image": "nginx:1"}]}}', 'pod.yaml');
    expect(f.found.map((x) => x.image)).toEqual(['nginx:1']);
  });

  test('anchors, aliases and merge keys', () => {
    const text = [
      'x-base: &base',
      '  image: alpine:3.19',
      'services:',
      '  one:',
      '    <<: *base',
      '  two:',
      '    image: &img busybox:1',
      '  three:',
      '    image: *img',
    ].join('\n');
    const f = parseManifestImages(text, 'compose.yaml');
    expect(f.found).toEqual([
      { image: 'alpine:3.19', origin: at('compose.yaml', 2, 10) },
      { image: 'busybox:1', origin: at('compose.yaml', 7, 17) }, // the value itself, after its anchor
      { image: 'busybox:1', origin: at('compose.yaml', 9, 12) },
    ]);
  });
});

describe('Kubernetes manifests', () => {
  const multi = [
    'apiVersion: v1', //1
    'kind: Pod', //2
    'spec:', //3
    '  initContainers:', //4
    '    - name: init', //5
    '      image: busybox:1.36', //6
    '  containers:', //7
    '    - name: app', //8
    '      image: ghcr.io/acme/app:2', //9
    '    - name: sidecar', //10
    "      image: 'envoyproxy/envoy:v1.30'", //11
    '---', //12
    'apiVersion: batch/v1', //13
    'kind: CronJob', //14
    'spec:', //15
    '  jobTemplate:', //16
    '    spec:', //17
    '      template:', //18
    '        spec:', //19
    '          containers:', //20
    '            - name: job', //21
    '              image: python:3.12-slim', //22
    '          ephemeralContainers:', //23
    '            - image: debug:1', //24
    '---', //25
    'apiVersion: acme.io/v1', //26
    'kind: Widget', //27
    'spec:', //28
    '  podTemplate:', //29
    '    containers:', //30
    '    - image: crd/thing:1', //31
    '  notAContainer:', //32
    '    image: ignored:1', //33
  ].join('\n');

  test('containers, initContainers, ephemeralContainers at any depth, in every document', () => {
    const f = parseManifestImages(multi, 'k8s/all.yaml');
    expect(f.found).toEqual([
      { image: 'busybox:1.36', origin: at('k8s/all.yaml', 6, 14) },
      { image: 'ghcr.io/acme/app:2', origin: at('k8s/all.yaml', 9, 14) },
      { image: 'envoyproxy/envoy:v1.30', origin: at('k8s/all.yaml', 11, 15) },
      { image: 'python:3.12-slim', origin: at('k8s/all.yaml', 22, 22) },
      { image: 'debug:1', origin: at('k8s/all.yaml', 24, 22) },
      { image: 'crd/thing:1', origin: at('k8s/all.yaml', 31, 14) },
    ]);
    expect(f.unresolved).toEqual([]);
  });

  test('Helm templates are skipped with a warning on the line, not misread', () => {
    const f = parseManifestImages(
      'spec:\n  containers:\n    - image: "{{ .Values.image }}"\n',
      'chart/templates/d.yaml',
    );
    expect(f.found).toEqual([]);
    expect(f.skipped).toEqual({
      reason: expect.stringContaining('image on line 3 is a template'),
      level: 'warning',
      line: 3,
    });
  });

  test('invalid YAML is skipped with a warning that quotes no content', () => {
    const f = parseManifestImages('spec:\n  containers:\n    - image: a\n   bad: [secret-value\n', 'x.yaml');
    expect(f.found).toEqual([]);
    expect(f.skipped?.level).toBe('warning');
    expect(f.skipped?.reason).toMatch(/not valid YAML \(line \d+/);
    expect(f.skipped?.reason).not.toContain('secret-value');
  });

  test('YAML with no image key is not parsed at all', () => {
    expect(parseManifestImages('a: [unclosed', 'x.yaml')).toEqual({ found: [], unresolved: [] });
  });

  test('non-string and empty images are ignored', () => {
    const f = parseManifestImages(
      'spec:\n  containers:\n    - image: 12\n    - image: ""\n    - image:\n',
      'x.yaml',
    );
    expect(f).toEqual({ found: [], unresolved: [] });
  });
});

describe('GitHub workflows', () => {
  test('isWorkflowPath', () => {
    expect(isWorkflowPath('.github/workflows/ci.yml')).toBe(true);
    expect(isWorkflowPath('sub/.github/workflows/ci.yaml')).toBe(true);
    expect(isWorkflowPath('.github/workflows/nested/ci.yml')).toBe(false);
    expect(isWorkflowPath('.github/dependabot.yml')).toBe(false);
  });

  test('container (string or map), services, docker:// steps; expressions unresolved', () => {
    const text = [
      'on: push', //1
      'jobs:', //2
      '  a:', //3
      '    runs-on: ubuntu-latest', //4
      '    container: node:20', //5
      '    services:', //6
      '      redis:', //7
      '        image: redis:7', //8
      '      pg:', //9
      '        image: ${{ matrix.pg }}', //10
      '    steps:', //11
      '      - uses: actions/checkout@v4', //12
      '      - uses: docker://alpine:3.19', //13
      '  b:', //14
      '    container:', //15
      '      image: "ghcr.io/acme/ci:1"', //16
      '      credentials: { username: u }', //17
      '  c:', //18
      '    container: ${{ inputs.image }}', //19
    ].join('\n');
    const f = parseWorkflowImages(text, '.github/workflows/ci.yml');
    const W = '.github/workflows/ci.yml';
    expect(f.found).toEqual([
      { image: 'node:20', origin: at(W, 5, 16) },
      { image: 'redis:7', origin: at(W, 8, 16) },
      { image: 'alpine:3.19', origin: at(W, 13, 24) },
      { image: 'ghcr.io/acme/ci:1', origin: at(W, 16, 15) },
    ]);
    expect(f.unresolved).toEqual([
      {
        text: '${{ matrix.pg }}',
        reason: expect.stringContaining('GitHub Actions expression'),
        origin: at(W, 10, 16),
      },
      {
        text: '${{ inputs.image }}',
        reason: expect.stringContaining('GitHub Actions expression'),
        origin: at(W, 19, 16),
      },
    ]);
  });
});

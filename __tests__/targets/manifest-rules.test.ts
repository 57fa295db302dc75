import { describe, expect, test } from 'vitest';
import { parseComposeEnv } from '../../src/targets/file-formats/compose-env.js';
import { parseManifestImages } from '../../src/targets/file-formats/yaml-images.js';

const images = (f: ReturnType<typeof parseManifestImages>) =>
  f.found.map((x) => `${x.image}@${x.origin.line}`);

describe('templates: only a templated image value skips the file', () => {
  test.each<[string, string, string[]]>([
    [
      'compose logging tag',
      'services:\n  web:\n    image: nginx:1.27\n    logging:\n      options:\n        tag: "{{.Name}}"\n',
      ['nginx:1.27@3'],
    ],
    [
      'compose healthcheck --format',
      "services:\n  db:\n    image: postgres:16\n    healthcheck:\n      test: docker ps --format '{{.Names}}'\n",
      ['postgres:16@3'],
    ],
    [
      'a Prometheus alert template in a ConfigMap beside a Deployment',
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'data:',
        '  alerts: |',
        '    summary: "{{ $labels.instance }} down"',
        '---',
        'apiVersion: apps/v1',
        'kind: Deployment',
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '        - image: prom/prometheus:v2.53.0',
      ].join('\n'),
      ['prom/prometheus:v2.53.0@13'],
    ],
  ])('%s', (_name, text, expected) => {
    const f = parseManifestImages(text, 'x.yaml');
    expect(f.skipped).toBeUndefined();
    expect(images(f)).toEqual(expected);
  });

  test('a Helm template that is not YAML: a warning with the line, saying to render it', () => {
    const text =
      'spec:\n  containers:\n{{- range .Values.containers }}\n    - image: {{ .image }}\n{{- end }}\n';
    const f = parseManifestImages(text, 'chart/templates/d.yaml');
    expect(f.found).toEqual([]);
    expect(f.skipped?.level).toBe('warning');
    expect(f.skipped?.line).toBeGreaterThan(0);
    expect(f.skipped?.reason).toMatch(/not valid YAML.*a template; scan the rendered output/);
  });
});

describe('Kubernetes manifests in JSON', () => {
  test('a Deployment, with lines', () => {
    const text = JSON.stringify(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        spec: { template: { spec: { containers: [{ name: 'a', image: 'nginx:1.27' }] } } },
      },
      null,
      2,
    );
    const f = parseManifestImages(text, 'deploy/app.json', { json: true });
    const line = text.split('\n').findIndex((l) => l.includes('nginx:1.27')) + 1;
    expect(f.found).toEqual([
      { image: 'nginx:1.27', origin: { file: 'deploy/app.json', line, column: expect.any(Number) } },
    ]);
  });

  test('kind: List', () => {
    const text = [
      '{',
      '  "apiVersion": "v1",',
      '  "kind": "List",',
      '  "items": [',
      '    {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"image": "busybox:1.36"}]}},',
      '    {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": {',
      '      "initContainers": [{"image": "alpine:3.20"}]}}}}',
      '  ]',
      '}',
    ].join('\n');
    expect(images(parseManifestImages(text, 'list.json', { json: true }))).toEqual([
      'busybox:1.36@5',
      'alpine:3.20@7',
    ]);
  });

  test('JSON that is not a Kubernetes object (package.json, a Compose-like file) is not read', () => {
    const text = '{"name": "x", "services": {"a": {"image": "nope:1"}}, "containers": [{"image": "nope:2"}]}';
    expect(parseManifestImages(text, 'package.json', { json: true })).toEqual({ found: [], unresolved: [] });
  });
});

describe('Compose interpolation from .env', () => {
  const compose = [
    'services:',
    '  api:',
    '    image: ${REGISTRY}/api:${TAG:-latest}',
    '    env_file: api.env',
    '  db:',
    '    image: postgres:${PG_VERSION:?set PG_VERSION in .env}',
    '  cache:',
    '    image: redis:${ONLY_IN_ENV_FILE}',
  ].join('\n');

  test('.env values feed ${VAR}; env_file does not; ${VAR:?err} is unresolved and listed', () => {
    const env = parseComposeEnv('REGISTRY=ghcr.io/acme\nTAG=1.4\n');
    const f = parseManifestImages(compose, 'compose.yaml', { composeEnv: env });
    expect(images(f)).toEqual(['ghcr.io/acme/api:1.4@3']);
    expect(f.unresolved.map((u) => [u.text, u.origin.line])).toEqual([
      ['postgres:${PG_VERSION:?set PG_VERSION in .env}', 6],
      ['redis:${ONLY_IN_ENV_FILE}', 8],
    ]);
    expect(f.unresolved[0].reason).toMatch(/set PG_VERSION in \.env/);
  });

  test('.env does not feed Kubernetes manifests', () => {
    const env = parseComposeEnv('TAG=9\n');
    const f = parseManifestImages('spec:\n  containers:\n    - image: app:${TAG}\n', 'k.yaml', {
      composeEnv: env,
    });
    expect(f.found).toEqual([]);
    expect(f.unresolved).toHaveLength(1);
  });
});

describe('parseComposeEnv (the .env format Compose reads)', () => {
  test.each<[string, Record<string, string>]>([
    ['A=1\nB=two words\n', { A: '1', B: 'two words' }],
    ['# comment\n\nA=1 # trailing comment\n', { A: '1' }],
    ['export A=1\n', { A: '1' }],
    ['A="quoted # not a comment"\n', { A: 'quoted # not a comment' }],
    ["A='single ${B} literal'\nB=x\n", { A: 'single ${B} literal', B: 'x' }],
    ['A="line\\nbreak \\"q\\""\n', { A: 'line\nbreak "q"' }],
    ['A=1\nB=${A}-2\nC="${B}-3"\n', { A: '1', B: '1-2', C: '1-2-3' }],
    ['A=\nB\n', { A: '' }],
    ['  A = spaced  \n', { A: 'spaced' }],
    ['A=1\r\nB=2\r\n', { A: '1', B: '2' }],
    ['1BAD=x\nGOOD=y\n', { GOOD: 'y' }],
  ])('%j', (text, expected) => {
    expect(Object.fromEntries(parseComposeEnv(text))).toEqual(expected);
  });
});

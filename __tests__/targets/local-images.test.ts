import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { resolveListedTargets } from '../../src/targets/listed-images.js';
import { parseListedEntry, type ImageSourceInput } from '../../src/targets/local-images.js';

const roots = { workspace: '/ws', tempDir: '/rt' };
const parse = (entry: string, imageSource: ImageSourceInput = 'auto') =>
  parseListedEntry(entry, { imageSource, roots });

describe('parseListedEntry: the prefix scheme of `images`', () => {
  test.each([
    ['alpine:3.19', 'auto', { kind: 'remote', ref: 'docker.io/library/alpine:3.19' }],
    ['alpine:3.19', 'remote', { kind: 'remote', ref: 'docker.io/library/alpine:3.19' }],
    ['alpine:3.19', 'docker', { kind: 'daemon', daemon: 'docker', ref: 'docker.io/library/alpine:3.19' }],
    ['localhost:5000/app:1', 'auto', { kind: 'remote', ref: 'localhost:5000/app:1' }],
    [
      'docker:myapp:pr-42',
      'auto',
      { kind: 'daemon', daemon: 'docker', ref: 'docker.io/library/myapp:pr-42' },
    ],
    [
      'containerd:ghcr.io/acme/app:1',
      'auto',
      { kind: 'daemon', daemon: 'containerd', ref: 'ghcr.io/acme/app:1' },
    ],
    ['podman:acme/app', 'docker', { kind: 'daemon', daemon: 'podman', ref: 'docker.io/acme/app:latest' }],
    [
      'docker:localhost:5000/app',
      'auto',
      { kind: 'daemon', daemon: 'docker', ref: 'localhost:5000/app:latest' },
    ],
    [
      'docker-archive:build/app.tar',
      'auto',
      { kind: 'archive', format: 'docker-archive', path: '/ws/build/app.tar' },
    ],
    [
      'docker-archive:app.tar.gz',
      'remote',
      { kind: 'archive', format: 'docker-archive', path: '/ws/app.tar.gz' },
    ],
    ['oci-archive:/rt/app.tar', 'auto', { kind: 'archive', format: 'oci-archive', path: '/rt/app.tar' }],
    ['oci-dir:./out/oci', 'podman', { kind: 'archive', format: 'oci-dir', path: '/ws/out/oci' }],
  ] as const)('%s (image-source %s)', (entry, source, expected) => {
    const parsed = parse(entry, source);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const v = parsed.value;
    expect({
      kind: v.kind,
      ...(v.kind === 'daemon' && { daemon: v.daemon }),
      ...(v.kind !== 'archive' ? { ref: v.reference.ref } : { format: v.format, path: v.path }),
    }).toEqual(expected);
  });

  test.each([
    ['docker:27-cli', 'is ambiguous: the Docker Hub image docker:27-cli or the local docker image 27-cli'],
    [
      'podman:latest',
      'write docker.io/library/podman:latest for the registry image, or podman:latest:latest',
    ],
    ['docker:5000/app', 'is ambiguous: a registry at host docker, port 5000'],
    ['docker:', 'names nothing after "docker:"'],
    ['oci-dir:', 'names nothing after "oci-dir:"'],
    ['docker:Bad/Name:1', 'is not a valid image reference'],
    ['app.tar', 'looks like a file path'],
    ['build/app.tar.gz', 'looks like a file path'],
    ['./oci', 'looks like a file path'],
    ['/abs/app', 'looks like a file path'],
    ['oci:./app', '"oci:" is not a source prefix'],
    ['oci-archive:app.tar.gz', 'only when its name ends in .tar'],
    ['oci-dir:out/oci:v1', 'contains ":" or "@"'],
    ['docker-archive:a@b.tar', 'contains ":" or "@"'],
    ['docker-archive:../app.tar', 'is outside the workspace and RUNNER_TEMP'],
    ['oci-dir:/etc', 'is outside the workspace and RUNNER_TEMP'],
    ['oci-archive:/rt/../etc/x.tar', 'is outside the workspace and RUNNER_TEMP'],
  ])('%s is refused: %s', (entry, reason) => {
    const parsed = parse(entry);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  test('image-source remote refuses daemon prefixes (registry only)', () => {
    const parsed = parse('docker:acme/app:1', 'remote');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain('`image-source` is remote');
  });

  test('a Docker Hub image named like a prefix is reachable by its full name', () => {
    const parsed = parse('docker.io/library/docker:27-cli');
    expect(parsed.ok && parsed.value.kind === 'remote' && parsed.value.reference.ref).toBe(
      'docker.io/library/docker:27-cli',
    );
  });
});

describe('resolveListedTargets with local images', () => {
  test('daemon and archive targets carry where they are read from; the same name in a daemon and a registry is two images', () => {
    const targets = resolveListedTargets(
      ['docker:acme/app:1', 'acme/app:1', 'docker-archive:build/app.tar'],
      {
        roots,
      },
    );
    expect(targets.map((t) => [t.ref, t.local])).toEqual([
      ['docker.io/acme/app:1', { kind: 'daemon', daemon: 'docker' }],
      ['docker.io/acme/app:1', undefined],
      [
        'docker-archive:build/app.tar',
        { kind: 'archive', format: 'docker-archive', path: '/ws/build/app.tar' },
      ],
    ]);
  });

  test('all bad entries are refused together, naming images', () => {
    let error: unknown;
    try {
      resolveListedTargets(['docker:27-cli', 'oci-dir:../x', 'alpine'], { roots });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).input).toBe('images');
    expect((error as ConfigurationError).message).toMatch(
      /^images: 2 entries are not valid image references:\n {2}- images: "docker:27-cli" is ambiguous/,
    );
  });

  test('an unnamed archive is reported under a repository that does not move with the runner’s directories', () => {
    const targets = resolveListedTargets(
      ['oci-archive:/rt/out/app.tar', 'oci-dir:./build/../oci', 'docker-archive:/ws/a.tar'],
      {
        roots,
      },
    );
    expect(targets.map((t) => [t.ref, t.registry, t.repository])).toEqual([
      ['oci-archive:/rt/out/app.tar', 'local', 'runner-temp/out/app.tar'],
      ['oci-dir:./build/../oci', 'local', 'oci'],
      ['docker-archive:/ws/a.tar', 'local', 'a.tar'],
    ]);
  });

  test('image-source puts unprefixed entries in that daemon', () => {
    const [t] = resolveListedTargets(['acme/app:1'], { roots, imageSource: 'containerd' });
    expect(t.local).toEqual({ kind: 'daemon', daemon: 'containerd' });
  });
});

import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import {
  discoverFileReferences,
  fileFormatOf,
  targetsFromFindings,
} from '../../src/targets/file-references.js';

let workspace: string;

const files: Record<string, string> = {
  Dockerfile: 'ARG NODE=20\nFROM node:${NODE} AS build\nFROM gcr.io/distroless/nodejs20\n',
  'services/api/api.Dockerfile': 'FROM node:20\nFROM --platform=$BUILDPLATFORM golang:${GO_VERSION}\n',
  'compose.yaml': 'services:\n  web:\n    image: node:20\n  cache:\n    image: redis:7\n',
  'deploy/app.yaml':
    'kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - image: ghcr.io/acme/app:1\n',
  'chart/templates/deployment.yaml': 'spec:\n  containers:\n    - image: {{ .Values.image }}\n',
  '.github/workflows/ci.yml':
    'jobs:\n  t:\n    container: node:20\n    services:\n      db:\n        image: ${{ matrix.db }}\n',
  'README.md': 'FROM alpine\nimage: nginx\n',
  'node_modules/pkg/Dockerfile': 'FROM should-not-be-read:1\n',
  '.git/Dockerfile': 'FROM should-not-be-read:2\n',
};

beforeAll(async () => {
  workspace = await mkdtemp(path.join(os.tmpdir(), 'isg-files-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(workspace, name)), { recursive: true });
    await writeFile(path.join(workspace, name), text);
  }
});
afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('discoverFileReferences', () => {
  test('finds images in every recognised file, one target per image with all its origins', async () => {
    const logger = new MemoryLogger();
    const { targets, unresolved } = await discoverFileReferences(['**/*'], { workspace, logger });
    const byRef = Object.fromEntries(targets.map((t) => [t.ref, t]));
    expect(Object.keys(byRef).sort()).toEqual([
      'docker.io/library/node:20',
      'docker.io/library/redis:7',
      'gcr.io/distroless/nodejs20:latest',
      'ghcr.io/acme/app:1',
    ]);
    expect(byRef['docker.io/library/node:20'].origins).toEqual([
      { file: '.github/workflows/ci.yml', line: 3, column: 16 },
      { file: 'Dockerfile', line: 2, column: 6 },
      { file: 'compose.yaml', line: 3, column: 12 },
      { file: 'services/api/api.Dockerfile', line: 1, column: 6 },
    ]);
    expect(byRef['docker.io/library/node:20'].sources).toEqual(['file']);
    expect(byRef['ghcr.io/acme/app:1'].origins).toEqual([{ file: 'deploy/app.yaml', line: 6, column: 18 }]);
    // Unresolved: never guessed, each with the reason and where it is.
    expect(unresolved.map((u) => [u.ref, u.origins?.[0]?.file, u.origins?.[0]?.line])).toEqual([
      ['${{ matrix.db }}', '.github/workflows/ci.yml', 6],
      ['golang:${GO_VERSION}', 'services/api/api.Dockerfile', 2],
    ]);
    // node_modules and .git are never read; the Helm template (a warning on its line) and README are passed over.
    expect(JSON.stringify(targets)).not.toContain('should-not-be-read');
    expect(
      logger.entries.filter(
        (e) =>
          e.level === 'warning' &&
          e.message.includes('chart/templates/deployment.yaml:3 skipped') &&
          e.message.includes('template'),
      ),
    ).toEqual([
      expect.objectContaining({ properties: { file: 'chart/templates/deployment.yaml', startLine: 3 } }),
    ]);
    // Each reference not scanned: one warning, on its line; nothing else says it again.
    const notScanned = logger.entries.filter((e) => e.message.includes('golang:${GO_VERSION}'));
    expect(notScanned).toEqual([
      {
        level: 'warning',
        message: expect.stringMatching(
          /not scanned: "golang:\$\{GO_VERSION\}" at services\/api\/api.Dockerfile:2 — \$GO_VERSION is not declared with ARG/,
        ),
        properties: { file: 'services/api/api.Dockerfile', startLine: 2, startColumn: 32 },
      },
    ]);
    expect(logger.messages('debug').some((m) => m.includes('README.md'))).toBe(true);
  });

  test('the format comes from the file name, not from the glob', async () => {
    const { targets } = await discoverFileReferences(['services/**'], {
      workspace,
      logger: new MemoryLogger(),
    });
    expect(targets.map((t) => t.ref)).toEqual(['docker.io/library/node:20']);
  });

  test('no matching file: a warning naming the globs', async () => {
    const logger = new MemoryLogger();
    const result = await discoverFileReferences(['nothing/**/Dockerfile'], { workspace, logger });
    expect(result).toEqual({ targets: [], unresolved: [] });
    expect(logger.messages('warning')).toEqual([expect.stringContaining('"nothing/**/Dockerfile"')]);
  });

  test('globs outside the workspace are refused', async () => {
    await expect(
      discoverFileReferences(['../**/Dockerfile'], { workspace, logger: new MemoryLogger() }),
    ).rejects.toThrow(ConfigurationError);
    await expect(
      discoverFileReferences(['/etc/**'], { workspace, logger: new MemoryLogger() }),
    ).rejects.toThrow(/discover-files/);
  });

  test('negated globs exclude files', async () => {
    const { targets } = await discoverFileReferences(['**/*.yaml', '!deploy/**'], {
      workspace,
      logger: new MemoryLogger(),
    });
    expect(targets.map((t) => t.ref)).toEqual(['docker.io/library/node:20', 'docker.io/library/redis:7']);
  });
});

describe('discover-files never reads outside the workspace', () => {
  async function layout(): Promise<{ ws: string; outsideDir: string }> {
    const base = await mkdtemp(path.join(os.tmpdir(), 'isg-files-confine-'));
    const ws = path.join(base, 'ws');
    const outsideDir = path.join(base, 'outside');
    await mkdir(ws);
    await mkdir(outsideDir);
    await writeFile(path.join(outsideDir, 'Dockerfile'), 'FROM outside.example/secret-image:1\n');
    await writeFile(path.join(ws, 'Dockerfile'), 'FROM alpine:3.20\n');
    return { ws, outsideDir };
  }

  // Symlinked directories are never walked. A glob whose literal part runs through one (`docker/Dockerfile`) is
  // crawled from there by the OS, so each match is checked too, and such a match refuses the run.
  test.each(['docker/Dockerfile', 'docker/*'])(
    'a match through a directory symlinked outside (%s) refuses the run, naming the input and the path',
    async (glob) => {
      const { ws, outsideDir } = await layout();
      await symlink(outsideDir, path.join(ws, 'docker'));
      const logger = new MemoryLogger();
      const e = await discoverFileReferences([glob], { workspace: ws, logger }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ConfigurationError);
      expect((e as ConfigurationError).input).toBe('discover-files');
      expect((e as Error).message).toMatch(
        /^`discover-files`: "docker\/Dockerfile" resolves outside the workspace/,
      );
      expect((e as Error).message).not.toContain('secret-image');
      expect(logger.entries.map((entry) => entry.message).join('\n')).not.toContain('secret-image');
    },
  );

  test.each([['*/Dockerfile'], ['**/Dockerfile'], ['Dockerfile', 'docker/Dockerfile']])(
    'a directory symlinked outside is not walked (%s)',
    async (...globs) => {
      const { ws, outsideDir } = await layout();
      await symlink(outsideDir, path.join(ws, 'docker'));
      const logger = new MemoryLogger();
      const result = await discoverFileReferences(globs, { workspace: ws, logger });
      expect(JSON.stringify(result)).not.toContain('secret-image');
      expect(logger.entries.map((entry) => entry.message).join('\n')).not.toContain('secret-image');
    },
  );

  test('a symlinked directory inside the workspace is fine', async () => {
    const { ws } = await layout();
    await mkdir(path.join(ws, 'images'));
    await writeFile(path.join(ws, 'images', 'Dockerfile'), 'FROM redis:7\n');
    await symlink('images', path.join(ws, 'docker'));
    const { targets } = await discoverFileReferences(['docker/Dockerfile'], {
      workspace: ws,
      logger: new MemoryLogger(),
    });
    expect(targets.map((t) => t.ref)).toEqual(['docker.io/library/redis:7']);
  });

  test('a file over 5 MiB is skipped with a warning, the rest still read', async () => {
    const { ws } = await layout();
    const compose = (image: string) => `services:\n  app:\n    image: ${image}\n`;
    await writeFile(path.join(ws, 'big.yaml'), `${compose('nginx:1')}${'#'.repeat(6 * 1024 * 1024)}\n`);
    await writeFile(path.join(ws, 'small.yaml'), compose('redis:7'));
    const logger = new MemoryLogger();
    const { targets } = await discoverFileReferences(['*.yaml'], { workspace: ws, logger });
    expect(targets.map((t) => t.ref)).toEqual(['docker.io/library/redis:7']);
    expect(logger.messages('warning')).toEqual(['discover-files: big.yaml is larger than 5 MiB; skipped.']);
  });
});

test('fileFormatOf', () => {
  expect(fileFormatOf('a/Containerfile')).toBe('dockerfile');
  expect(fileFormatOf('.github/workflows/x.yaml')).toBe('workflow');
  expect(fileFormatOf('k8s/x.YML')).toBe('manifest');
  expect(fileFormatOf('k8s/x.json')).toBe('json-manifest');
  expect(fileFormatOf('overlays/prod/kustomization.yaml')).toBe('kustomization');
  expect(fileFormatOf('base/Kustomization')).toBe('kustomization');
  expect(fileFormatOf('docs/Dockerfile.5.md')).toBeUndefined();
  expect(fileFormatOf('docs/Dockerfile.5.md', true)).toBe('dockerfile');
  expect(fileFormatOf('notes.txt')).toBeUndefined();
});

test('targetsFromFindings: a reference invalid after substitution is unresolved, with its reason', () => {
  const origin = { file: 'compose.yaml', line: 3, column: 12 };
  const { targets, unresolved } = targetsFromFindings([
    {
      found: [
        { image: 'Redis:7', origin },
        { image: 'redis:7', origin: { ...origin, line: 5 } },
      ],
      unresolved: [],
    },
  ]);
  expect(targets.map((t) => t.ref)).toEqual(['docker.io/library/redis:7']);
  expect(unresolved).toEqual([
    { ref: 'Redis:7', reason: expect.stringContaining('lower-case'), origins: [origin] },
  ]);
});

test('targetsFromFindings: a Dockerfile --platform is kept on the target', () => {
  const { targets } = targetsFromFindings([
    {
      found: [{ image: 'alpine', platform: 'linux/arm64', origin: { file: 'Dockerfile', line: 1 } }],
      unresolved: [],
    },
  ]);
  expect(targets[0].platform).toBe('linux/arm64');
  expect(targets[0].origins).toEqual([{ file: 'Dockerfile', line: 1, platform: 'linux/arm64' }]);
});

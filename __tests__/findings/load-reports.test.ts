import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { attachOrigins, expandReportGlobs } from '../../src/findings/load-reports.js';
import type { ImageResult, Target } from '../../src/model.js';
import { reusedImagesSection } from '../../src/scale/reuse-summary.js';

function target(ref: string, extra: Partial<Target> = {}): Target {
  const [registry, ...rest] = ref.split('/');
  const [repository, tag] = rest.join('/').split(':');
  return { ref, input: ref, registry, repository, tag, origins: [], sources: ['listed'], ...extra };
}

function image(t: Target, extra: Partial<ImageResult> = {}): ImageResult {
  return { target: t, status: 'scanned', findings: [], ...extra };
}

describe('attachOrigins (a fan-in job over reports, with discover-files)', () => {
  const fromFile = target('r.io/shop/api:stable', {
    origins: [{ file: 'Dockerfile', line: 1 }],
    sources: ['file'],
  });

  test('matches the exact ref', () => {
    const [out] = attachOrigins([image(target('r.io/shop/api:stable'))], [fromFile]);
    expect(out.target.origins).toEqual([{ file: 'Dockerfile', line: 1 }]);
    expect(out.target.sources).toEqual(['listed', 'file']);
  });

  test('matches another tag of the same image', () => {
    const [out] = attachOrigins([image(target('r.io/shop/api:1.0', { tags: ['stable'] }))], [fromFile]);
    expect(out.target.origins).toEqual([{ file: 'Dockerfile', line: 1 }]);
  });

  test('matches a digest-pinned reference of the same repository, not of another', () => {
    const pinned = target('r.io/shop/api@sha256:aa', {
      repository: 'shop/api',
      digest: 'sha256:aa',
      tag: undefined,
      origins: [{ file: 'k8s.yaml', line: 9 }],
    });
    const other = target('r.io/other/api@sha256:aa', {
      repository: 'other/api',
      digest: 'sha256:aa',
      tag: undefined,
      origins: [{ file: 'x.yaml', line: 2 }],
    });
    const [out] = attachOrigins(
      [image(target('r.io/shop/api:1.0'), { digest: 'sha256:aa' })],
      [pinned, other],
    );
    expect(out.target.origins).toEqual([{ file: 'k8s.yaml', line: 9 }]);
  });

  test('leaves images no file mentions untouched', () => {
    const img = image(target('r.io/shop/web:1'));
    expect(attachOrigins([img], [fromFile])[0]).toBe(img);
  });
});

describe('reusedImagesSection', () => {
  test('lists reused images only, with the Trivy and DB build their findings come from', () => {
    const md = reusedImagesSection([
      image(target('r.io/a:1'), {
        status: 'reused',
        digest: 'sha256:' + 'a'.repeat(64),
        trivyVersion: '0.74.0',
        dbUpdatedAt: '2026-11-23T18:00:00Z',
      }),
      image(target('r.io/b:1')),
    ]);
    expect(md).toContain('### Reused results (1)');
    expect(md).toContain('`r.io/a:1`');
    expect(md).toContain('Trivy 0.74.0');
    expect(md).toContain('DB 2026-11-23T18:00:00Z');
    expect(md).not.toContain('r.io/b:1');
  });

  test('says nothing when every image was scanned in this run', () => {
    expect(reusedImagesSection([image(target('r.io/b:1'))])).toBeUndefined();
  });
});

describe('expandReportGlobs: the workflow names where, the repository cannot redirect it', () => {
  async function layout() {
    const base = await mkdtemp(path.join(os.tmpdir(), 'isg-reports-'));
    const dirs = {
      ws: path.join(base, 'ws'),
      temp: path.join(base, 'runner-temp'),
      outside: path.join(base, 'outside'),
    };
    for (const d of Object.values(dirs)) await mkdir(d);
    await mkdir(path.join(dirs.ws, 'results', 'shard-1'), { recursive: true });
    await writeFile(path.join(dirs.ws, 'results', 'shard-1', 'results.json'), '{}');
    await writeFile(path.join(dirs.outside, 'results.json'), '{}');
    await mkdir(path.join(dirs.temp, 'artifacts'));
    await writeFile(path.join(dirs.temp, 'artifacts', 'results.json'), '{}');
    return dirs;
  }

  async function refusal(patterns: string[], ws: string): Promise<string> {
    const e = await expandReportGlobs(patterns, ws).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as ConfigurationError).input).toBe('reports');
    return (e as Error).message;
  }

  test('a glob does not walk a directory symlinked outside its base', async () => {
    const d = await layout();
    await symlink(d.outside, path.join(d.ws, 'results', 'shard-2'));
    expect(await expandReportGlobs(['results/**/results.json'], d.ws)).toEqual([
      path.join(d.ws, 'results', 'shard-1', 'results.json'),
    ]);
  });

  test('an explicit path in RUNNER_TEMP, and a glob there, are read', async () => {
    const d = await layout();
    const file = path.join(d.temp, 'artifacts', 'results.json');
    expect(await expandReportGlobs([file], d.ws)).toEqual([file]);
    expect(await expandReportGlobs([`${d.temp}/artifacts/*.json`], d.ws)).toEqual([file]);
  });

  test('a glob outside the workspace does not reach through a symlink out of its base either', async () => {
    const d = await layout();
    await symlink(d.outside, path.join(d.temp, 'artifacts', 'linked'));
    expect(await expandReportGlobs([`${d.temp}/{artifacts/linked,artifacts}/*.json`], d.ws)).toEqual([
      path.join(d.temp, 'artifacts', 'results.json'),
    ]);
    expect(await refusal([`${d.temp}/artifacts/**/linked/*.json`], d.ws)).toMatch(/matches no file/);
  });

  test.each([
    ['a committed directory symlink as the base', 'artifacts/*.json'],
    ['a committed file symlink named explicitly', 'artifacts/results.json'],
  ])('%s, out of the workspace, is refused', async (_name, pattern) => {
    const d = await layout();
    if (pattern.endsWith('*.json')) await symlink(d.outside, path.join(d.ws, 'artifacts'));
    else {
      await mkdir(path.join(d.ws, 'artifacts'));
      await symlink(path.join(d.outside, 'results.json'), path.join(d.ws, 'artifacts', 'results.json'));
    }
    expect(await refusal([pattern], d.ws)).toMatch(
      new RegExp(
        `^\`reports\`: "${pattern.replace('*', '\\*')}" leads outside the workspace through a symlink`,
      ),
    );
  });

  test('nothing matched is still refused up front', async () => {
    const d = await layout();
    expect(await refusal(['missing/**/results.json'], d.ws)).toMatch(/matches no file/);
    expect(await refusal(['results'], d.ws)).toMatch(/matches no file/);
  });
});

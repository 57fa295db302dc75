import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { prepareOutputDir } from '../../src/infra/output-dir.js';

// `output-dir` is checked and created before any work: the action never writes through a symlink a pull request
// committed, and a file in the way stops the run at once instead of after every scan.

let base: string;
let workspace: string;
let tempDir: string;
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'isg-outdir-'));
  workspace = path.join(base, 'workspace');
  tempDir = path.join(base, 'runner-temp');
  outside = path.join(base, 'outside');
  for (const d of [workspace, tempDir, outside]) await mkdir(d);
});

function dirs(outputDir: string) {
  return { outputDir: path.resolve(workspace, outputDir), workspace, tempDir };
}

async function refusal(outputDir: string): Promise<string> {
  const e = await prepareOutputDir(dirs(outputDir)).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(ConfigurationError);
  expect((e as ConfigurationError).input).toBe('output-dir');
  expect((e as Error).message).toMatch(/^`output-dir`: "/);
  // Nothing was written where the symlink pointed.
  expect(readdirSync(outside)).toEqual([]);
  return (e as Error).message;
}

describe('prepareOutputDir', () => {
  test('creates output-dir and its reports folder, nested, inside the workspace', async () => {
    await prepareOutputDir(dirs('out/scan'));
    expect(lstatSync(path.join(workspace, 'out/scan/reports')).isDirectory()).toBe(true);
  });

  test('RUNNER_TEMP is allowed too', async () => {
    await prepareOutputDir(dirs(path.join(tempDir, 'results')));
    expect(existsSync(path.join(tempDir, 'results', 'reports'))).toBe(true);
  });

  test('an existing output-dir with earlier results is fine', async () => {
    await mkdir(path.join(workspace, 'image-scan-results/reports'), { recursive: true });
    await writeFile(path.join(workspace, 'image-scan-results/results.json'), '{}');
    await prepareOutputDir(dirs('image-scan-results'));
  });

  test('outside the workspace and RUNNER_TEMP is refused', async () => {
    expect(await refusal('../outside/results')).toMatch(/outside the workspace and RUNNER_TEMP/);
    expect(await refusal('/etc/isg')).toMatch(/"\/etc\/isg" is outside/);
    expect(existsSync(path.join(outside, 'results'))).toBe(false);
  });

  test('a committed symlink at output-dir is refused, not followed', async () => {
    await symlink(outside, path.join(workspace, 'image-scan-results'));
    expect(await refusal('image-scan-results')).toMatch(/image-scan-results" is a symlink/);
  });

  test('a symlink on the way to output-dir is refused', async () => {
    await symlink(outside, path.join(workspace, 'build'));
    expect(await refusal('build/scan')).toMatch(/build" is a symlink/);
  });

  test('a committed symlink at output-dir/reports is refused', async () => {
    await mkdir(path.join(workspace, 'image-scan-results'));
    await symlink(outside, path.join(workspace, 'image-scan-results', 'reports'));
    expect(await refusal('image-scan-results')).toMatch(/reports" is a symlink/);
  });

  test.each(['results.json', 'summary.md', 'results.sarif', 'results-3.sarif'])(
    'a committed symlink at %s is refused',
    async (name) => {
      await mkdir(path.join(workspace, 'image-scan-results'));
      await symlink(path.join(outside, 'target'), path.join(workspace, 'image-scan-results', name));
      expect(await refusal('image-scan-results')).toMatch(
        new RegExp(`${name.replace('.', '\\.')}" is a symlink where the action writes`),
      );
    },
  );

  test('a directory where results.json goes is refused', async () => {
    await mkdir(path.join(workspace, 'image-scan-results', 'results.json'), { recursive: true });
    expect(await refusal('image-scan-results')).toMatch(/results\.json" is not a regular file/);
  });

  test('a file in the way is refused naming output-dir (not ENOTDIR after the scans)', async () => {
    await writeFile(path.join(workspace, 'image-scan-results'), 'not a directory');
    expect(await refusal('image-scan-results')).toMatch(/is in the way: it is a file/);
    await writeFile(path.join(workspace, 'dist'), 'x');
    expect(await refusal('dist/scan')).toMatch(/"[^"]*dist" is in the way/);
  });
});

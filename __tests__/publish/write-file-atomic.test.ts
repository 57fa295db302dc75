import { lstatSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { writeFileAtomic } from '../../src/publish/publish-results.js';

test('a symlink where a file is written is replaced, never written through', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'isg-atomic-'));
  const victim = path.join(dir, 'victim');
  writeFileSync(victim, 'untouched');
  symlinkSync(victim, path.join(dir, 'results.json'));
  await writeFileAtomic(path.join(dir, 'results.json'), '{"ok":true}\n');
  expect(readFileSync(victim, 'utf8')).toBe('untouched');
  expect(lstatSync(path.join(dir, 'results.json')).isFile()).toBe(true);
  expect(readFileSync(path.join(dir, 'results.json'), 'utf8')).toBe('{"ok":true}\n');
  expect(readdirSync(dir).sort()).toEqual(['results.json', 'victim']);
});

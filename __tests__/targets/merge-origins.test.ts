import { expect, test } from 'vitest';
import { mergeOrigins } from '../../src/targets/merge-targets.js';

test('mergeOrigins adds each file position once, keeps the first of a position, and copies what it adds', () => {
  const into = [{ file: 'Dockerfile', line: 1 }];
  const added = { file: 'k8s/app.yaml', line: 4, column: 12 };
  const merged = mergeOrigins(into, [
    { file: 'Dockerfile', line: 1, note: 'a second mention of the same line' },
    added,
    { file: 'k8s/app.yaml', line: 4, column: 12 },
    { file: 'k8s/app.yaml', line: 4, column: 30 },
  ]);
  expect(merged).toBe(into);
  expect(merged).toEqual([
    { file: 'Dockerfile', line: 1 },
    { file: 'k8s/app.yaml', line: 4, column: 12 },
    { file: 'k8s/app.yaml', line: 4, column: 30 },
  ]);
  expect(merged[1]).not.toBe(added);
});

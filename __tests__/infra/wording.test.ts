import { describe, expect, test } from 'vitest';
import { megabytes, plural } from '../../src/infra/wording.js';

describe('plural', () => {
  test.each([
    [1, 'image', '1 image'],
    [0, 'image', '0 images'],
    [3, 'image', '3 images'],
  ])('%i %s', (n, word, expected) => expect(plural(n, word)).toBe(expected));
});

describe('megabytes', () => {
  // The code-scanning upload once divided by 1024² and still said "MB": a 10.5 MB file read as "10.0 MB", under
  // GitHub's stated 10 MB limit it had just gone over.
  test.each([
    [10_500_000, '10.5 MB'],
    [10_000_000, '10 MB'],
    [1_234_567, '1.2 MB'],
  ])('%i bytes', (bytes, expected) => expect(megabytes(bytes)).toBe(expected));
});

import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import {
  assertTrivyVersionAllowed,
  builtInChecksum,
  checksumFromChecksumsFile,
  DEFAULT_TRIVY_VERSION,
  TRIVY_SHA256,
} from '../../src/install/checksums.js';
import { trivyAsset } from '../../src/install/platform.js';
import { sharedDir } from '../../test-support/paths.js';

describe('trivyAsset', () => {
  test.each([
    ['linux', 'x64', 'trivy_0.74.0_Linux-64bit.tar.gz', 'trivy'],
    ['linux', 'arm64', 'trivy_0.74.0_Linux-ARM64.tar.gz', 'trivy'],
    ['darwin', 'x64', 'trivy_0.74.0_macOS-64bit.tar.gz', 'trivy'],
    ['darwin', 'arm64', 'trivy_0.74.0_macOS-ARM64.tar.gz', 'trivy'],
    ['win32', 'x64', 'trivy_0.74.0_windows-64bit.zip', 'trivy.exe'],
  ] as const)('%s/%s -> %s', (platform, arch, name, binary) => {
    const asset = trivyAsset('0.74.0', platform, arch);
    expect(asset.name).toBe(name);
    expect(asset.binary).toBe(binary);
    expect(asset.archive).toBe(name.endsWith('.zip') ? 'zip' : 'tar.gz');
  });

  test.each([
    ['win32', 'arm64'],
    ['freebsd', 'x64'],
    ['linux', 'ia32'],
    ['linux', 's390x'],
  ] as const)('%s/%s is refused, pointing at trivy-path', (platform, arch) => {
    expect(() => trivyAsset('0.74.0', platform, arch)).toThrow(ConfigurationError);
    expect(() => trivyAsset('0.74.0', platform, arch)).toThrow(/trivy-path/);
  });
});

describe('the built-in SHA-256 table', () => {
  test('default version is pinned for every platform the action can install', () => {
    for (const [p, a] of [
      ['linux', 'x64'],
      ['linux', 'arm64'],
      ['darwin', 'x64'],
      ['darwin', 'arm64'],
      ['win32', 'x64'],
    ] as const) {
      expect(builtInChecksum(trivyAsset(DEFAULT_TRIVY_VERSION, p, a).name)).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  test('the pin FACTS.md confirms from several independent sources', () => {
    expect(builtInChecksum('trivy_0.74.0_Linux-64bit.tar.gz')).toBe(
      '2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a',
    );
  });

  const checksumsMd = path.join(sharedDir, 'trivy', 'CHECKSUMS.md');
  test.runIf(existsSync(checksumsMd))('matches CHECKSUMS.md row for row', () => {
    const rows = [
      ...readFileSync(checksumsMd, 'utf8').matchAll(/^\| [\d.]+ \| (\S+) \| ([0-9a-f]{64}) \|$/gm),
    ];
    expect(rows.length).toBeGreaterThan(0);
    expect(Object.fromEntries(rows.map((m) => [m[1], m[2]]))).toEqual(TRIVY_SHA256);
  });

  test('0.69.4 is never allowed', () => {
    expect(() => assertTrivyVersionAllowed('0.69.4')).toThrow(/GHSA-69fq-xp46-6x23/);
    expect(() => assertTrivyVersionAllowed('v0.69.4')).toThrow(ConfigurationError);
    expect(() => assertTrivyVersionAllowed('0.69.3')).not.toThrow();
  });
});

describe('checksumFromChecksumsFile', () => {
  const a = 'a'.repeat(64);
  const b = 'B'.repeat(64);
  const text = `${a}  trivy_0.99.0_Linux-ARM64.tar.gz\n${b} *trivy_0.99.0_Linux-64bit.tar.gz\r\n`;
  test.each([
    ['trivy_0.99.0_Linux-ARM64.tar.gz', a],
    ['trivy_0.99.0_Linux-64bit.tar.gz', 'b'.repeat(64)],
    ['trivy_0.99.0_macOS-64bit.tar.gz', undefined],
    ['Linux-64bit.tar.gz', undefined], // a suffix is not the asset
  ])('%s', (asset, expected) => {
    expect(checksumFromChecksumsFile(text, asset)).toBe(expected);
  });
});

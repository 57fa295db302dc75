import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { offlineImageArgs, runStandin } from './standin-helpers.js';

// Bugs the type checker found when the stand-in got `// @ts-check` (issue 14): each case failed before the fix.

const home = mkdtempSync(path.join(os.tmpdir(), 'standin-typecheck-'));
const cacheDir = path.join(home, 'cache');

beforeAll(async () => {
  const r = await runStandin(['image', '--download-db-only', '--cache-dir', cacheDir, '--quiet'], {}, home);
  expect(r.exitCode, r.stderr).toBe(0);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const scan = (args: string[], cwd = home) =>
  runStandin(
    [...offlineImageArgs(cacheDir), '--timeout', '20s', ...args],
    // The stand-in reads trivy.yaml from its working directory; TRIVY_CONFIG points it at the test's file instead.
    cwd === home ? {} : { TRIVY_CONFIG: path.join(cwd, 'trivy.yaml') },
    home,
  );

describe('image references', () => {
  // Before: `name@` parsed as digest '' and the stand-in asked the registry for manifest '' instead of refusing the
  // reference as go-containerregistry does. Port 1 on loopback is closed, so any registry access shows as an error.
  test.each(['127.0.0.1:1/acme/app@', '127.0.0.1:1/acme/app:1.0@'])(
    '%s (empty digest) is refused as a reference, before any registry access',
    async (ref) => {
      const r = await scan(['--', ref]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`could not parse reference: ${ref}`);
      expect(r.stderr).not.toContain('ECONNREFUSED');
    },
  );

  test('an empty tag still means latest, as in go-containerregistry', async () => {
    const r = await scan(['--', '127.0.0.1:1/acme/app:']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).not.toContain('could not parse reference');
    expect(r.stderr).toContain('ECONNREFUSED');
  });
});

describe('the config file', () => {
  // Before: a mapping under a scalar key became the flag value "[object Object]".
  test('a mapping where a scalar or list belongs is refused, naming the key', async () => {
    const dir = path.join(home, 'config-mapping');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'trivy.yaml'), 'severity:\n  HIGH: true\n');
    const r = await scan(['--', '127.0.0.1:1/acme/app:1.0'], dir);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('reads only a scalar or a list at "severity", not a mapping');
    expect(r.stderr).not.toContain('[object Object]');
  });
});

describe('--input with an OCI layout', () => {
  // Before: a manifest without a config descriptor failed with JavaScript's
  // "Cannot read properties of undefined (reading 'digest')" in the error text.
  test('a manifest without a config descriptor is an invalid OCI image, said plainly', async () => {
    const dir = path.join(home, 'no-config');
    const blob = (data: Buffer) => {
      const hex = createHash('sha256').update(data).digest('hex');
      mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
      writeFileSync(path.join(dir, 'blobs', 'sha256', hex), data);
      return `sha256:${hex}`;
    };
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        layers: [],
      }),
    );
    const digest = blob(manifest);
    writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      path.join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length },
        ],
      }),
    );
    const r = await scan(['--input', dir]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `unable to open ${dir} as an OCI Image: invalid OCI image: manifest has no config descriptor`,
    );
    expect(r.stderr).not.toContain('Cannot read properties');
  });
});

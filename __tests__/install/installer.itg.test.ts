import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { TrivyConfig } from '../../src/config.js';
import { ConfigurationError } from '../../src/errors.js';
import { runProcess } from '../../src/infra/exec.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import { installTrivy } from '../../src/install/trivy-installer.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { standinPath } from '../standin/standin-helpers.js';

// The real installer (download, SHA-256, extract, tool cache) against a local mirror laid out like GitHub releases.
// @actions/tool-cache v4 reads RUNNER_TEMP / RUNNER_TOOL_CACHE when called, not at import, so each test sets its own.

const root = mkdtempSync(path.join(os.tmpdir(), 'installer-itg-'));
const savedEnv = { RUNNER_TEMP: process.env.RUNNER_TEMP, RUNNER_TOOL_CACHE: process.env.RUNNER_TOOL_CACHE };
let toolCache: string;
let temp: string;
const mirrors: ReleaseMirror[] = [];

beforeEach(() => {
  const dir = mkdtempSync(path.join(root, 'run-'));
  toolCache = path.join(dir, 'toolcache');
  temp = path.join(dir, 'temp');
  process.env.RUNNER_TOOL_CACHE = toolCache;
  process.env.RUNNER_TEMP = temp;
});
afterEach(async () => {
  await Promise.all(mirrors.splice(0).map((m) => m.close()));
});
afterAll(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(root, { recursive: true, force: true });
});

async function mirror(opts: Parameters<typeof startReleaseMirror>[0] = {}) {
  const m = await startReleaseMirror(opts);
  mirrors.push(m);
  return m;
}

function config(over: Partial<TrivyConfig>): TrivyConfig {
  return {
    version: '0.74.0',
    downloadUrl: 'http://127.0.0.1:1/unused',
    dbRepositories: [],
    javaDbRepositories: [],
    cacheDb: true,
    scanners: ['vuln'],
    pkgTypes: ['os', 'library'],
    timeoutMs: 600_000,
    parallel: 4,
    skipFiles: [],
    skipDirs: [],
    vulnSeveritySource: [],
    ...over,
  };
}

const deps = (logger: MemoryLogger, over: Record<string, unknown> = {}) => ({
  logger,
  platform: 'linux' as const,
  arch: 'x64',
  ...over,
});

async function installedVersion(binary: string): Promise<string> {
  const r = await runProcess({ command: binary, args: ['--version', '--format', 'json'] });
  expect(r.exitCode).toBe(0);
  return (JSON.parse(r.stdout) as { Version: string }).Version;
}

function cachedVersions(): string[] {
  const dir = path.join(toolCache, 'trivy');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('download, verify, extract, cache', () => {
  test('0.74.0 with trivy-checksum: installed and cached; a second install downloads nothing', async () => {
    const m = await mirror();
    const logger = new MemoryLogger();
    const cfg = config({ downloadUrl: m.baseUrl, checksum: m.sha256 });
    const first = await installTrivy(cfg, deps(logger));
    expect(first).toMatchObject({ version: '0.74.0', source: 'download', checksumSource: 'input' });
    // Runs from its own fresh extraction, never from the shared tool cache.
    expect(first.path.startsWith(temp)).toBe(true);
    expect(existsSync(path.join(toolCache, 'trivy', '0.74.0', 'x64.complete'))).toBe(true);
    expect(existsSync(path.join(toolCache, 'trivy', '0.74.0', 'x64', 'trivy'))).toBe(true);
    expect(existsSync(path.join(toolCache, 'trivy', '0.74.0', 'x64', 'contrib', 'html.tpl'))).toBe(true);
    // The verified archive is kept beside it, to re-verify the cache entry against the trusted SHA-256 next time.
    expect(existsSync(path.join(toolCache, 'trivy', '0.74.0', 'x64', m.assetName))).toBe(true);
    expect(await installedVersion(first.path)).toBe('0.74.0'); // extracted with its exec bit, and it runs
    expect(m.requests).toEqual([`/releases/v0.74.0/${m.assetName}`]);
    // The user's checksum overrides the built-in pin; the action says so.
    expect(logger.messages('warning').join('\n')).toContain('differs from the SHA-256 this action ships');
    expect(existsSync(temp) ? readdirSync(temp).filter((f) => f.endsWith('.tar.gz')) : []).toEqual([]);

    const secondLogger = new MemoryLogger();
    const second = await installTrivy(cfg, deps(secondLogger));
    expect(second).toMatchObject({ version: '0.74.0', source: 'tool-cache', checksumSource: 'input' });
    expect(second.path.startsWith(temp)).toBe(true);
    expect(await installedVersion(second.path)).toBe('0.74.0');
    expect(m.requests).toHaveLength(1);
    expect(secondLogger.messages('warning')).toEqual([
      expect.stringContaining('differs from the SHA-256 this action ships'),
    ]);
  });

  test('a cached binary replaced after caching is refused with a warning and re-installed from the verified archive', async () => {
    const m = await mirror();
    const cfg = config({ downloadUrl: m.baseUrl, checksum: m.sha256 });
    await installTrivy(cfg, deps(new MemoryLogger()));
    const cachedBinary = path.join(toolCache, 'trivy', '0.74.0', 'x64', 'trivy');
    const genuine = readFileSync(cachedBinary);
    const witness = path.join(temp, 'tampered-ran');
    writeFileSync(cachedBinary, `#!/bin/sh\ntouch ${witness}\necho '{"Version":"0.74.0"}'\n`);

    const logger = new MemoryLogger();
    const got = await installTrivy(cfg, deps(logger));
    expect(logger.messages('warning').join('\n')).toMatch(/cached Trivy binary .* differs .* replaced/s);
    expect(await installedVersion(got.path)).toBe('0.74.0');
    expect(existsSync(witness)).toBe(false); // the replaced binary never ran
    expect(readFileSync(cachedBinary).equals(genuine)).toBe(true); // the cache entry is healed
    expect(m.requests).toHaveLength(1); // from the cached, re-verified archive: no download
  });

  test('a cached archive that no longer matches the trusted SHA-256 is refused and Trivy downloaded again', async () => {
    const m = await mirror();
    const cfg = config({ downloadUrl: m.baseUrl, checksum: m.sha256 });
    await installTrivy(cfg, deps(new MemoryLogger()));
    writeFileSync(path.join(toolCache, 'trivy', '0.74.0', 'x64', m.assetName), 'not the archive');
    const logger = new MemoryLogger();
    const got = await installTrivy(cfg, deps(logger));
    expect(got.source).toBe('download');
    expect(logger.messages('warning').join('\n')).toMatch(
      /not the expected .* replaced after it was cached/s,
    );
    expect(m.requests).toHaveLength(2);
  });

  test('trivy-download-url with credentials: sent as a header, never logged or in an error', async () => {
    const m = await mirror();
    const logger = new MemoryLogger();
    const url = m.baseUrl.replace('http://', 'http://ci:url-SECRET-pw@');
    await installTrivy(config({ downloadUrl: url, checksum: m.sha256 }), deps(logger));
    expect(JSON.stringify(logger.entries)).not.toContain('url-SECRET-pw');
    expect(logger.secrets).toContain(`Basic ${Buffer.from('ci:url-SECRET-pw').toString('base64')}`);
    expect(m.authorizations.at(-1)).toBe(`Basic ${Buffer.from('ci:url-SECRET-pw').toString('base64')}`);
  });

  test('0.74.0 without trivy-checksum: the built-in pin wins, so the stand-in archive is refused', async () => {
    const m = await mirror();
    const err = await installTrivy(config({ downloadUrl: m.baseUrl }), deps(new MemoryLogger())).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigurationError);
    const message = (err as Error).message;
    expect(message).toContain(m.assetName);
    expect(message).toContain('expected 2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a');
    expect(message).toContain(`got ${m.sha256}`);
    expect(m.requests).not.toContain('/releases/v0.74.0/trivy_0.74.0_checksums.txt'); // never asked the release
    expect(cachedVersions()).toEqual([]);
  });

  test('a version not in the table is verified against the release checksums file, with a warning', async () => {
    const m = await mirror({ version: '0.99.0' });
    const logger = new MemoryLogger();
    const got = await installTrivy(config({ version: '0.99.0', downloadUrl: m.baseUrl }), deps(logger));
    expect(got).toMatchObject({ version: '0.99.0', source: 'download', checksumSource: 'release-file' });
    expect(m.requests).toEqual([
      '/releases/v0.99.0/trivy_0.99.0_checksums.txt',
      `/releases/v0.99.0/${m.assetName}`,
    ]);
    expect(logger.messages('warning').join('\n')).toMatch(/proves nothing.*March 2026/s);
  });

  test.each([
    ['the release checksums file', {}],
    ['trivy-checksum', { useChecksum: true }],
  ])(
    'a tampered archive is refused against %s; nothing is cached, the download is deleted',
    async (_label, how) => {
      const m = await mirror({ version: '0.99.0', tamper: true });
      const cfg = config({
        version: '0.99.0',
        downloadUrl: m.baseUrl,
        ...('useChecksum' in how ? { checksum: m.sha256 } : {}),
      });
      const err = await installTrivy(cfg, deps(new MemoryLogger())).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as Error).message).toMatch(
        new RegExp(`SHA-256 mismatch for ${m.assetName}.*expected ${m.sha256}`),
      );
      expect((err as Error).message).toContain('nothing was cached');
      expect(cachedVersions()).toEqual([]);
      expect(existsSync(temp) ? readdirSync(temp).filter((f) => f.endsWith('.tar.gz')) : []).toEqual([]);
    },
  );
});

describe('latest', () => {
  test('resolved through GITHUB_API_URL with the token, then installed', async () => {
    const m = await mirror({ version: '0.99.0', latest: '0.99.0' });
    const logger = new MemoryLogger();
    const got = await installTrivy(
      config({ version: 'latest', downloadUrl: m.baseUrl }),
      deps(logger, { apiUrl: m.apiUrl, githubToken: 'ghs_exampletoken' }),
    );
    expect(got.version).toBe('0.99.0');
    expect(await installedVersion(got.path)).toBe('0.74.0'); // the stand-in's own default; the archive is what ran
    expect(m.apiAuthorizations).toEqual(['Bearer ghs_exampletoken']);
    expect(logger.messages('info')).toContain('trivy-version latest resolved to 0.99.0');
  });

  test('latest pointing at the malicious 0.69.4 is refused before any download', async () => {
    const m = await mirror({ version: '0.99.0', latest: '0.69.4' });
    await expect(
      installTrivy(
        config({ version: 'latest', downloadUrl: m.baseUrl }),
        deps(new MemoryLogger(), { apiUrl: m.apiUrl }),
      ),
    ).rejects.toThrow(/GHSA-69fq-xp46-6x23/);
    expect(m.requests).toEqual(['/api/repos/aquasecurity/trivy/releases/latest']);
  });
});

describe('trivy-path', () => {
  test('used as given after checking it runs; nothing is downloaded', async () => {
    const m = await mirror();
    const got = await installTrivy(
      config({ path: standinPath, downloadUrl: m.baseUrl, version: 'latest' }),
      deps(new MemoryLogger(), { apiUrl: m.apiUrl }),
    );
    expect(got).toEqual({ path: standinPath, version: '0.74.0', source: 'trivy-path' });
    expect(m.requests).toEqual([]);
  });

  test('a binary that is not Trivy is refused naming trivy-path', async () => {
    const err = await installTrivy(config({ path: '/bin/true' }), deps(new MemoryLogger())).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).input).toBe('trivy-path');
  });
});

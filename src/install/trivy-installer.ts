import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tc from '@actions/tool-cache';
import type { TrivyConfig } from '../config.js';
import { ConfigurationError, errorMessage } from '../errors.js';
import { runProcess as defaultRunProcess, type RunProcess } from '../infra/exec.js';
import { createHttpClient, splitUrlCredentials, type HttpClient } from '../infra/http.js';
import type { Logger } from '../infra/logger.js';
import { assertTrivyVersionAllowed, builtInChecksum, checksumFromChecksumsFile } from './checksums.js';
import { trivyAsset, type TrivyAsset } from './platform.js';
import { boundedErrorText, parseVersionJson } from './trivy-output.js';

export interface InstallDeps {
  logger: Logger;
  http?: HttpClient;
  /** GITHUB_API_URL (for `latest`); default from the environment, then api.github.com. */
  apiUrl?: string;
  githubToken?: string;
  platform?: NodeJS.Platform;
  arch?: string;
  runProcess?: RunProcess;
  /** Where downloads and extractions go; default RUNNER_TEMP, then the OS temp dir. */
  tempDir?: string;
  /** The private directory `trivy-path --version` runs in (install/trivy-isolation.ts). */
  cwd?: string;
}

export interface InstalledTrivy {
  path: string;
  version: string;
  source: 'trivy-path' | 'tool-cache' | 'download';
  checksumSource?: 'built-in' | 'input' | 'release-file';
}

const TOOL_NAME = 'trivy';

/**
 * Puts a verified Trivy on disk: `trivy-path` as given, else the runner's tool cache, else a download whose SHA-256
 * must match `trivy-checksum`, the table shipped in the action, or (weaker, with a warning) the release's own
 * checksums file. A mismatch deletes the download and caches nothing.
 *
 * The tool cache is untrusted: another job may have written it, and what runs must match a SHA-256 the action
 * trusts. A hash stored next to the binary would be only as trustworthy as the cache itself, so the cache keeps
 * the release archive beside the binary, and a cache hit re-checks that archive against the same trusted SHA-256 a download is checked against
 * (pin or `trivy-checksum`), extracts it afresh into RUNNER_TEMP and runs that copy — never the cached binary, which
 * could be swapped between a check and its use. A cached binary that differs from its verified archive was replaced:
 * that is reported and the cache entry re-installed from the archive.
 */
export async function installTrivy(cfg: TrivyConfig, deps: InstallDeps): Promise<InstalledTrivy> {
  const { logger } = deps;
  const run = deps.runProcess ?? defaultRunProcess;
  if (cfg.path) return useGivenBinary(cfg.path, run, logger, deps.cwd);

  const http = deps.http ?? createHttpClient();
  const version = cfg.version === 'latest' ? await resolveLatest(http, deps) : cfg.version.replace(/^v/, '');
  assertTrivyVersionAllowed(version);
  const platform = deps.platform ?? process.platform;
  const arch = deps.arch ?? process.arch;
  const asset = trivyAsset(version, platform, arch);
  const tempDir = deps.tempDir ?? process.env.RUNNER_TEMP ?? os.tmpdir();
  const source = releaseSource(cfg.downloadUrl, logger);
  const { expected, checksumSource } = await expectedChecksum(cfg, version, asset.name, http, logger, source);

  const cached = findInToolCache(version, arch, logger);
  if (cached) {
    const fromCache = await verifiedFromToolCache(cached, {
      asset,
      run,
      expected,
      version,
      arch,
      tempDir,
      logger,
    });
    if (fromCache) return { path: fromCache, version, source: 'tool-cache', checksumSource };
  }

  const url = `${source.base}/v${version}/${asset.name}`;
  logger.info(`Downloading Trivy ${version}: ${url}`);
  const archive = path.join(tempDir, `trivy-${randomUUID()}-${asset.name}`);
  try {
    await tc.downloadTool(url, archive, source.authorization);
  } catch (e) {
    throw new Error(
      `Could not download Trivy ${version} from ${url}: ${errorMessage(e)}. Check \`trivy-download-url\`.`,
    );
  }
  try {
    const actual = await sha256File(archive);
    if (actual !== expected) {
      throw new ConfigurationError(
        `SHA-256 mismatch for ${asset.name} from ${url}: expected ${expected} (${describeSource(checksumSource)}), ` +
          `got ${actual}. The download was deleted and nothing was cached. If you use a mirror that repackages ` +
          'Trivy, set `trivy-checksum` to its SHA-256; otherwise treat the archive as tampered with.',
        checksumSource === 'input' ? 'trivy-checksum' : 'trivy-download-url',
      );
    }
    logger.info(`SHA-256 of ${asset.name} verified (${describeSource(checksumSource)}): ${actual}`);
    const ctx = { asset, run, version, arch, tempDir, logger };
    const binary = await extractVerified(archive, ctx);
    await cacheVerified(binary, archive, ctx);
    return { path: binary, version, source: 'download', checksumSource };
  } finally {
    await rm(archive, { force: true });
  }
}

interface CacheContext {
  asset: TrivyAsset;
  run: RunProcess;
  version: string;
  arch: string;
  tempDir: string;
  logger: Logger;
}

/** Extracts an archive whose SHA-256 was verified into a fresh directory under RUNNER_TEMP; its binary's path. */
async function extractVerified(archive: string, ctx: CacheContext): Promise<string> {
  const extractTo = path.join(ctx.tempDir, `trivy-${randomUUID()}`);
  await mkdir(extractTo, { recursive: true });
  // tar through the action's own process start (allow-listed environment), not @actions/tool-cache's, which hands
  // tar the whole environment; Windows' zip has no such tar and keeps tool-cache's extractor.
  const extracted =
    ctx.asset.archive === 'zip'
      ? await tc.extractZip(archive, extractTo)
      : await extractTarGz(archive, extractTo, ctx.run);
  const binary = path.join(extracted, ctx.asset.binary);
  if (!existsSync(binary)) throw new Error(`${ctx.asset.name} holds no ${ctx.asset.binary} at its top level`);
  return binary;
}

async function extractTarGz(archive: string, dest: string, run: RunProcess): Promise<string> {
  const result = await run({ command: 'tar', args: ['-xzf', archive, '-C', dest], timeoutMs: 5 * 60_000 });
  if (result.exitCode !== 0) {
    throw new Error(
      `Could not extract ${path.basename(archive)} (tar exit ${result.exitCode}): ${boundedErrorText(result.stderr.trim())}`,
    );
  }
  return dest;
}

/** Caches a verified extraction with its archive beside the binary, for the next run to re-verify. */
async function cacheVerified(binary: string, archive: string, ctx: CacheContext): Promise<void> {
  if (!process.env.RUNNER_TOOL_CACHE) {
    ctx.logger.debug('RUNNER_TOOL_CACHE is not set: Trivy is not kept in the tool cache');
    return;
  }
  const dir = path.dirname(binary);
  await copyFile(archive, path.join(dir, ctx.asset.name));
  await tc.cacheDir(dir, TOOL_NAME, ctx.version, ctx.arch);
}

/** The fresh binary from a cached archive that still matches `expected`; undefined means "download instead". */
async function verifiedFromToolCache(
  cachedDir: string,
  ctx: CacheContext & { expected: string },
): Promise<string | undefined> {
  const { asset, logger } = ctx;
  const archive = path.join(cachedDir, asset.name);
  if (!existsSync(archive)) {
    logger.info(
      `Trivy ${ctx.version} in the tool cache has no archive to verify it against (cached by another tool or an ` +
        'older version of this action): downloading it again.',
    );
    return undefined;
  }
  const actual = await sha256File(archive);
  if (actual !== ctx.expected) {
    logger.warning(
      `The tool cache's ${asset.name} (${cachedDir}) has SHA-256 ${actual}, not the expected ${ctx.expected}: it was ` +
        'replaced after it was cached. It is not used; Trivy is downloaded and verified again.',
    );
    return undefined;
  }
  const binary = await extractVerified(archive, ctx);
  const cachedBinary = path.join(cachedDir, asset.binary);
  const cachedHash = existsSync(cachedBinary) ? await sha256File(cachedBinary) : 'missing';
  if (cachedHash !== (await sha256File(binary))) {
    logger.warning(
      `The cached Trivy binary ${cachedBinary} differs from the one in its verified archive: it was replaced after ` +
        'it was cached (the tool cache is shared and untrusted). It is not run; Trivy is re-installed from the ' +
        'verified archive.',
    );
    await cacheVerified(binary, archive, ctx);
  } else {
    logger.info(`Trivy ${ctx.version} found in the tool cache; its archive's SHA-256 verified: ${actual}`);
  }
  return binary;
}

async function useGivenBinary(
  binary: string,
  run: RunProcess,
  logger: Logger,
  cwd: string | undefined,
): Promise<InstalledTrivy> {
  let result;
  try {
    result = await run({ command: binary, args: ['--version', '--format', 'json'], cwd, timeoutMs: 60_000 });
  } catch (e) {
    throw new ConfigurationError(`\`trivy-path\` ${binary} cannot be run: ${errorMessage(e)}.`, 'trivy-path');
  }
  const version = result.exitCode === 0 ? parseVersionJson(result.stdout)?.version : undefined;
  if (!version) {
    throw new ConfigurationError(
      `\`trivy-path\` ${binary} did not answer \`--version --format json\` like Trivy ` +
        `(exit ${result.exitCode}): ${boundedErrorText((result.stderr || result.stdout).trim())}`,
      'trivy-path',
    );
  }
  assertTrivyVersionAllowed(version);
  logger.info(`Using Trivy ${version} from trivy-path: ${binary}`);
  return { path: binary, version, source: 'trivy-path' };
}

/**
 * `trivy-download-url` without its credentials, so every URL built from it can be logged; the credentials go as an
 * Authorization header (masked), which the download drops when redirected to another host.
 */
function releaseSource(downloadUrl: string, logger: Logger): { base: string; authorization?: string } {
  const { url, authorization } = splitUrlCredentials(downloadUrl);
  if (authorization) logger.setSecret(authorization);
  return { base: url.replace(/\/+$/, ''), ...(authorization && { authorization }) };
}

async function resolveLatest(http: HttpClient, deps: InstallDeps): Promise<string> {
  const api = (deps.apiUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
  const url = `${api}/repos/aquasecurity/trivy/releases/latest`;
  const headers: Record<string, string> = {
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
  };
  if (deps.githubToken) headers.authorization = `Bearer ${deps.githubToken}`;
  const res = await http({ url, headers, timeoutMs: 30_000 });
  if (res.status !== 200) {
    throw new Error(
      `Could not resolve trivy-version latest: GET ${url} answered ${res.status}. Pin an exact version.`,
    );
  }
  const tag = res.json<{ tag_name?: string }>().tag_name;
  if (!tag) throw new Error(`Could not resolve trivy-version latest: ${url} has no tag_name.`);
  const version = tag.replace(/^v/, '');
  deps.logger.info(`trivy-version latest resolved to ${version}`);
  return version;
}

function findInToolCache(version: string, arch: string, logger: Logger): string | undefined {
  if (!process.env.RUNNER_TOOL_CACHE) return undefined;
  try {
    return tc.find(TOOL_NAME, version, arch) || undefined;
  } catch (e) {
    logger.debug(`tool cache lookup failed: ${errorMessage(e)}`);
    return undefined;
  }
}

async function expectedChecksum(
  cfg: TrivyConfig,
  version: string,
  assetName: string,
  http: HttpClient,
  logger: Logger,
  source: { base: string; authorization?: string },
): Promise<{ expected: string; checksumSource: 'built-in' | 'input' | 'release-file' }> {
  const pinned = builtInChecksum(assetName);
  if (cfg.checksum) {
    const given = cfg.checksum.toLowerCase();
    if (pinned && pinned !== given) {
      logger.warning(
        `trivy-checksum differs from the SHA-256 this action ships for ${assetName} (${pinned}); verifying against ` +
          'trivy-checksum as asked. Only do this for a mirror that repackages Trivy.',
      );
    }
    return { expected: given, checksumSource: 'input' };
  }
  if (pinned) return { expected: pinned, checksumSource: 'built-in' };
  const url = `${source.base}/v${version}/trivy_${version}_checksums.txt`;
  logger.warning(
    `No built-in SHA-256 for ${assetName} and no trivy-checksum given: verifying against ${url}, which comes from ` +
      'the same release as the archive and proves nothing if that release was tampered with (as in the March 2026 ' +
      'Trivy incident). Set `trivy-checksum`, or use a version this action pins.',
  );
  const res = await http({
    url,
    timeoutMs: 30_000,
    ...(source.authorization && { headers: { authorization: source.authorization } }),
  });
  if (res.status !== 200) {
    throw new ConfigurationError(
      `No SHA-256 to verify ${assetName}: no built-in pin, no \`trivy-checksum\`, and ${url} answered ${res.status}. ` +
        'Set `trivy-checksum`.',
      'trivy-checksum',
    );
  }
  const expected = checksumFromChecksumsFile(res.text(), assetName);
  if (!expected) {
    throw new ConfigurationError(
      `${url} lists no SHA-256 for ${assetName}. Set \`trivy-checksum\`.`,
      'trivy-checksum',
    );
  }
  return { expected, checksumSource: 'release-file' };
}

function describeSource(source: 'built-in' | 'input' | 'release-file'): string {
  return source === 'built-in'
    ? "the action's built-in pin"
    : source === 'input'
      ? 'trivy-checksum'
      : "the release's checksums file";
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

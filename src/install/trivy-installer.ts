import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tc from '@actions/tool-cache';
import type { TrivyConfig } from '../config.js';
import { ConfigurationError, errorMessage } from '../errors.js';
import { runProcess as defaultRunProcess, type RunProcess } from '../infra/exec.js';
import { createHttpClient, type HttpClient } from '../infra/http.js';
import type { Logger } from '../infra/logger.js';
import { assertTrivyVersionAllowed, builtInChecksum, checksumFromChecksumsFile } from './checksums.js';
import { trivyAsset } from './platform.js';
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

  const cached = findInToolCache(version, arch, logger);
  if (cached) {
    const binary = path.join(cached, asset.binary);
    if (existsSync(binary)) {
      logger.info(`Trivy ${version} found in the tool cache: ${binary}`);
      return { path: binary, version, source: 'tool-cache' };
    }
  }

  const tempDir = deps.tempDir ?? process.env.RUNNER_TEMP ?? os.tmpdir();
  const url = `${cfg.downloadUrl.replace(/\/+$/, '')}/v${version}/${asset.name}`;
  const { expected, checksumSource } = await expectedChecksum(cfg, version, asset.name, http, logger);
  logger.info(`Downloading Trivy ${version}: ${url}`);
  const archive = path.join(tempDir, `trivy-${randomUUID()}-${asset.name}`);
  try {
    await tc.downloadTool(url, archive);
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
    const extractTo = path.join(tempDir, `trivy-${randomUUID()}`);
    await mkdir(extractTo, { recursive: true });
    const extracted =
      asset.archive === 'zip'
        ? await tc.extractZip(archive, extractTo)
        : await tc.extractTar(archive, extractTo);
    if (!existsSync(path.join(extracted, asset.binary))) {
      throw new Error(`${asset.name} holds no ${asset.binary} at its top level`);
    }
    let dir = extracted;
    if (process.env.RUNNER_TOOL_CACHE) dir = await tc.cacheDir(extracted, TOOL_NAME, version, arch);
    else logger.debug('RUNNER_TOOL_CACHE is not set: Trivy is not kept in the tool cache');
    return { path: path.join(dir, asset.binary), version, source: 'download', checksumSource };
  } finally {
    await rm(archive, { force: true });
  }
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
  const url = `${cfg.downloadUrl.replace(/\/+$/, '')}/v${version}/trivy_${version}_checksums.txt`;
  logger.warning(
    `No built-in SHA-256 for ${assetName} and no trivy-checksum given: verifying against ${url}, which comes from ` +
      'the same release as the archive and proves nothing if that release was tampered with (as in the March 2026 ' +
      'Trivy incident). Set `trivy-checksum`, or use a version this action pins.',
  );
  const res = await http({ url, timeoutMs: 30_000 });
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

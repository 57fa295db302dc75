import { chmod, mkdir, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { trivyVariablesIn } from '../infra/child-env.js';
import type { Logger } from '../infra/logger.js';
import { DOCKER_HUB, normaliseRegistryHost } from '../targets/reference.js';
import type { HostCredential } from './host-credential.js';

// A private DOCKER_CONFIG for Trivy: `auths` keyed by host, so each registry receives only its own secret.
// Never TRIVY_USERNAME / TRIVY_PASSWORD: Trivy sends those to every registry it contacts, DB mirrors included.

/** Docker's own key for Docker Hub (what `docker login` writes); `docker.io` too, for clients that look it up by name. */
const DOCKER_HUB_KEYS = ['https://index.docker.io/v1/', DOCKER_HUB];
const TRIVY_GLOBAL_CREDENTIALS = ['TRIVY_USERNAME', 'TRIVY_PASSWORD', 'TRIVY_REGISTRY_TOKEN'] as const;

interface DockerAuthEntry {
  auth?: string;
  registrytoken?: string;
}

export interface DockerConfigFile {
  auths: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
}

/** The config.json content for these credentials (pure). */
export function dockerConfigFor(creds: readonly HostCredential[]): DockerConfigFile {
  const auths: Record<string, DockerAuthEntry> = {};
  for (const c of creds) {
    if (c.unavailable) continue; // its provider failed: its images are not scanned
    const host = normaliseRegistryHost(c.registry);
    const entry: DockerAuthEntry = c.token
      ? { registrytoken: c.token }
      : { auth: Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`, 'utf8').toString('base64') };
    for (const key of host === DOCKER_HUB ? DOCKER_HUB_KEYS : [host]) auths[key] = entry;
  }
  return { auths };
}

/**
 * Writes `<dir>/config.json` (mode 0600 from creation) in a private directory (0700). With `inheritFrom`
 * (the job's own Docker config, e.g. after docker/login-action), its per-host `auths` and `credHelpers` for hosts
 * not configured here are kept, so earlier logins still work.
 */
export async function writeDockerConfig(
  dir: string,
  creds: readonly HostCredential[],
  opts: { inheritFrom?: string; logger?: Logger } = {},
): Promise<{ dir: string; file: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700); // an existing directory keeps its mode through mkdir
  const config = dockerConfigFor(creds);
  if (opts.inheritFrom) await inherit(config, opts.inheritFrom, opts.logger);

  const file = path.join(dir, 'config.json');
  // Remove then create exclusively: the mode is set at creation, and a file left by someone else is not reused.
  await rm(file, { force: true });
  const handle = await open(file, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(config, null, 2)}\n`, 'utf8');
  } finally {
    await handle.close();
  }
  return { dir, file };
}

/** The job's Docker config file, as the docker CLI finds it. */
export function defaultDockerConfigFile(env: NodeJS.ProcessEnv): string {
  return path.join(env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker'), 'config.json');
}

async function inherit(config: DockerConfigFile, from: string, logger?: Logger): Promise<void> {
  let existing: unknown;
  try {
    existing = JSON.parse(await readFile(from, 'utf8'));
  } catch {
    return; // no earlier login, or not a config we can read: nothing to keep
  }
  if (typeof existing !== 'object' || existing === null) return;
  const { auths, credHelpers, credsStore } = existing as {
    auths?: Record<string, DockerAuthEntry>;
    credHelpers?: Record<string, string>;
    credsStore?: unknown;
  };
  const configured = new Set(Object.keys(config.auths).map(normaliseRegistryHost));
  for (const [key, entry] of Object.entries(auths ?? {})) {
    if (!configured.has(normaliseRegistryHost(key)) && typeof entry === 'object' && entry !== null)
      config.auths[key] = entry;
  }
  for (const [key, helper] of Object.entries(credHelpers ?? {})) {
    if (!configured.has(normaliseRegistryHost(key)) && typeof helper === 'string')
      (config.credHelpers ??= {})[key] = helper;
  }
  if (credsStore)
    logger?.debug(`Docker config ${from}: its credsStore is not used by the scan (per-host logins only).`);
}

/**
 * What the action adds to Trivy's allow-listed environment (infra/child-env.ts): DOCKER_CONFIG pointing at the
 * private config, nothing else. TRIVY_* variables set in the job never reach Trivy — the global credential ones
 * would be sent to every registry, the others would change what Trivy reports behind the gate's back — and the
 * user is told which were left out (by name, never value).
 */
export function trivyEnvFor(
  dockerConfigDir: string,
  baseEnv: NodeJS.ProcessEnv,
  logger?: Logger,
): Record<string, string> {
  const set = trivyVariablesIn(baseEnv);
  const credentials = set.filter((name) => (TRIVY_GLOBAL_CREDENTIALS as readonly string[]).includes(name));
  const others = set.filter((name) => !credentials.includes(name));
  if (credentials.length > 0) {
    logger?.warning(
      `${credentials.join(', ')} ${credentials.length === 1 ? 'is' : 'are'} set in the environment but not passed to Trivy: ` +
        'Trivy would send them to every registry it contacts. Use registry-username/registry-password or registry-auth.',
    );
  }
  if (others.length > 0) {
    logger?.warning(
      `${others.join(', ')} ${others.length === 1 ? 'is' : 'are'} set in the environment but not passed to Trivy: ` +
        "the action sets Trivy's options itself, so every threshold and ignore is its own and shown in the summary. " +
        "Use the action's inputs (severity, ignore-file, policy, scanners, ...) instead.",
    );
  }
  return { DOCKER_CONFIG: dockerConfigDir };
}

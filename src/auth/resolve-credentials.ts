import type { Config, RegistryAuthEntry } from '../config.js';
import { ConfigurationError, errorMessage } from '../errors.js';
import type { HttpClient } from '../infra/http.js';
import type { Logger } from '../infra/logger.js';
import { normaliseRegistryHost } from '../targets/reference.js';
import type { HostCredential } from './host-credential.js';
import { acrCredential } from './providers/acr.js';
import { ecrCredential, type EcrClientFactory } from './providers/ecr.js';
import { garCredential } from './providers/gar.js';
import { ghcrCredential } from './providers/ghcr.js';

export { parseRegistryAuth } from './registry-auth.js';
export type { HostCredential } from './host-credential.js';

const GHCR = 'ghcr.io';

export type CredentialConfig = Pick<
  Config,
  'registryUsername' | 'registryPassword' | 'registryToken' | 'registryAuth' | 'githubToken' | 'discovery'
>;

export interface CredentialDeps {
  logger: Logger;
  http: HttpClient;
  env: NodeJS.ProcessEnv;
  ecrClientFactory?: EcrClientFactory;
  /** Microsoft Entra login endpoint (tests: a local server). */
  azureLoginBase?: string;
  /** Base URL of a registry host, `https://<host>` by default (tests: plain HTTP). */
  registryBaseUrl?: (host: string) => string;
}

/**
 * One credential per registry host, from `registry-username`/`registry-password`, `registry-token`,
 * `registry-auth` (plain or via a cloud provider) and, for ghcr.io images, `github-token`. Every secret is masked
 * the moment it is read or derived. `imageHosts` are the hosts of the images to scan (to place the single-host
 * inputs when `registry` is not given, and to know whether ghcr.io is used).
 */
export async function resolveCredentials(
  config: CredentialConfig,
  imageHosts: readonly string[],
  deps: CredentialDeps,
): Promise<HostCredential[]> {
  const { logger } = deps;
  for (const secret of [config.registryPassword, config.registryToken, config.githubToken])
    if (secret) logger.setSecret(secret);
  for (const e of config.registryAuth) for (const s of [e.password, e.token]) if (s) logger.setSecret(s);

  const hosts = [...new Set(imageHosts.map(normaliseRegistryHost))];
  const discoveryHost = config.discovery.registry
    ? normaliseRegistryHost(config.discovery.registry)
    : undefined;
  const credentials: HostCredential[] = [];
  const add = (c: HostCredential) => {
    const clash = credentials.find((x) => x.registry === c.registry);
    if (clash) {
      throw new ConfigurationError(
        `Credentials for ${c.registry} are given twice (${clash.via} and ${c.via}); keep one.`,
        c.via.startsWith('registry-auth') ? 'registry-auth' : clash.via,
      );
    }
    credentials.push(c);
  };

  const single = singleHostCredential(config, hosts, discoveryHost, logger);
  if (single) add(single);

  for (const [i, entry] of config.registryAuth.entries()) {
    add(await providerOrFailure(entry, `registry-auth[${i + 1}]`, config, deps));
  }

  // Like Trivy and docker/login-action users expect: ghcr.io images are pulled with the job's token.
  const usesGhcr = hosts.includes(GHCR) || discoveryHost === GHCR;
  if (usesGhcr && config.githubToken && !credentials.some((c) => c.registry === GHCR)) {
    add({ registry: GHCR, ...ghcrCredential('github-token', config.githubToken, deps), via: 'github-token' });
  }

  for (const c of credentials) {
    if (c.unavailable) logger.warning(`No credentials for ${c.registry}: ${c.unavailable}`);
    else logger.debug(`Registry credentials for ${c.registry} from ${c.via}.`);
  }
  return credentials;
}

/** `registry-username`/`registry-password` or `registry-token`: for `registry`, else the one host all images share. */
function singleHostCredential(
  config: CredentialConfig,
  hosts: string[],
  discoveryHost: string | undefined,
  logger: Logger,
): HostCredential | undefined {
  const { registryUsername: username, registryPassword: password, registryToken: token } = config;
  if (password && !username) {
    throw new ConfigurationError(
      '`registry-password` is set but `registry-username` is empty: give both.',
      'registry-username',
    );
  }
  if (username && !password) {
    throw new ConfigurationError(
      '`registry-username` is set but `registry-password` is empty: give both (for Docker Hub, an access token as the password).',
      'registry-password',
    );
  }
  if (token && username) {
    throw new ConfigurationError(
      '`registry-token` and `registry-username`/`registry-password` are both set: give one of them.',
      'registry-token',
    );
  }
  if (!username && !token) return undefined;
  const via = token ? 'registry-token' : 'registry-username';

  let host = discoveryHost;
  if (!host) {
    if (hosts.length > 1) {
      throw new ConfigurationError(
        `\`${via}\` applies to one registry, but the images are on ${hosts.length} hosts (${hosts.join(', ')}). ` +
          'Set `registry` to the host these credentials are for, or use `registry-auth` with one entry per registry:\n' +
          hosts
            .map((h) => `  - registry: ${h}\n    username: ...\n    password: \${{ secrets.... }}`)
            .join('\n'),
        'registry-auth',
      );
    }
    host = hosts[0];
  }
  if (!host) {
    logger.warning(`\`${via}\` is set but there is no image or \`registry\` to use it for; it is ignored.`);
    return undefined;
  }
  return token ? { registry: host, token, via } : { registry: host, username, password, via };
}

/**
 * A cloud provider that cannot produce a credential (no AWS credentials, no service principal, Entra or ECR
 * refusing) fails its own registry, not the run: the credential carries the reason and that registry's images fail
 * with it (scan/plan-scans.ts). A mistake in the entry itself is still a ConfigurationError, refused up front.
 */
async function providerOrFailure(
  entry: RegistryAuthEntry,
  via: string,
  config: CredentialConfig,
  deps: CredentialDeps,
): Promise<HostCredential> {
  try {
    return await entryCredential(entry, via, config, deps);
  } catch (e) {
    if (e instanceof ConfigurationError || !entry.provider) throw e;
    const message = errorMessage(e);
    const reason = message.startsWith(via) ? message : `${via} provider ${entry.provider}: ${message}`;
    return {
      registry: normaliseRegistryHost(entry.registry),
      via: `${via} provider ${entry.provider}`,
      unavailable: reason,
    };
  }
}

async function entryCredential(
  entry: RegistryAuthEntry,
  via: string,
  config: CredentialConfig,
  deps: CredentialDeps,
): Promise<HostCredential> {
  const registry = normaliseRegistryHost(entry.registry);
  switch (entry.provider) {
    case undefined:
      if (entry.token) return { registry, token: entry.token, via };
      if (entry.username && entry.password)
        return { registry, username: entry.username, password: entry.password, via };
      throw new ConfigurationError(
        `${via} (${registry}): give username + password, or token, or provider.`,
        'registry-auth',
      );
    case 'ecr':
      return {
        registry,
        ...(await ecrCredential(registry, `${via} provider ecr`, deps)),
        via: `${via} provider ecr`,
      };
    case 'gar':
      return {
        registry,
        ...garCredential(registry, `${via} provider gar`, deps),
        via: `${via} provider gar`,
      };
    case 'acr':
      return {
        registry,
        ...(await acrCredential(registry, `${via} provider acr`, deps)),
        via: `${via} provider acr`,
      };
    case 'ghcr':
      return {
        registry,
        ...ghcrCredential(`${via} provider ghcr`, config.githubToken, deps),
        via: `${via} provider ghcr`,
      };
  }
}

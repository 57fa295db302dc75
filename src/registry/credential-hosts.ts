// Where a registry's credentials may be sent (a secret goes nowhere but its own host), decided here and nowhere
// else:
// - requests, pages and redirects: only to the registry's own host (host:port). A `Link: rel="next"`, a Docker Hub
//   `next` or a GitHub API `Link` naming another host is not followed at all (see `nextPageOnSameHost`); a redirect
//   to another host is followed without Authorization (infra/http.ts).
// - a Bearer token realm: Basic credentials go to a realm on the registry's own host name (any port: distribution
//   deployments run their token server beside the registry), or to the token host that registry is known to use
//   (auth.docker.io for Docker Hub). A realm elsewhere is asked for an anonymous token.

import type { Logger } from '../infra/logger.js';
import { normaliseRegistryHost } from '../targets/reference.js';

/** Registries whose token service lives on a host of its own, by the host name `normaliseRegistryHost` gives. */
const KNOWN_TOKEN_HOSTS: Record<string, readonly string[]> = {
  'docker.io': ['auth.docker.io'],
  'registry.gitlab.com': ['gitlab.com'],
};

/** `host[:port]` of a URL, lower-case, default ports dropped (as `URL` gives it). */
function hostOf(url: string): string {
  return new URL(url).host.toLowerCase();
}

function hostnameOf(url: string): string {
  return new URL(url).hostname.toLowerCase();
}

export function sameHost(a: string, b: string): boolean {
  return hostOf(a) === hostOf(b);
}

/** Whether Basic credentials for `registry` (host[:port]) may be sent to the token realm `realm`. */
export function realmMayReceiveCredentials(registry: string, realm: string): boolean {
  const realmHost = hostnameOf(realm);
  if (realmHost === hostnameOf(`http://${registry}`)) return true;
  return (KNOWN_TOKEN_HOSTS[normaliseRegistryHost(registry)] ?? []).includes(realmHost);
}

/**
 * The next page when it is on the host of the page that named it; otherwise undefined and a warning. A registry
 * (or API) pages on its own host: a page elsewhere is not followed, so no credential can follow it, and the listing
 * ends there. That costs nothing a hostile registry could not do anyway: it decides what it lists.
 */
export function nextPageOnSameHost(
  next: string | undefined,
  current: string,
  logger: Logger,
  what: string,
): string | undefined {
  if (next === undefined || sameHost(next, current)) return next;
  logger.warning(
    `${hostOf(current)}: the next page of ${what} is on another host (${hostOf(next)}); it is not followed, ` +
      'so the listing ends here and no credentials leave the registry.',
  );
  return undefined;
}

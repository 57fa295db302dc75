// What the auth stage hands to the Docker config writer (and to the registry client for discovery): one
// credential per registry host, so each registry receives only its own secret.

export interface HostCredential {
  /** host[:port], normalised (docker.io for Docker Hub). */
  registry: string;
  username?: string;
  password?: string;
  /** Bearer token, sent as-is (Docker config `registrytoken`). */
  token?: string;
  /** Where it came from, for messages: 'registry-username', 'registry-auth[2]', 'registry-auth[1] provider ecr'. */
  via: string;
  /**
   * Set when a cloud provider could not produce the credential (no AWS credentials, no service principal...): the
   * reason, naming the provider and what is missing. The registry's images fail with it; other registries go on.
   */
  unavailable?: string;
}

/** A cloud provider could not produce a credential: its registry fails, not the run. */
export class CredentialProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialProviderError';
  }
}

/** The same credential in the shape the registry client takes (discovery, digest look-ups). */
export function registryCredentialsOf(
  c: HostCredential | undefined,
): { token: string } | { username: string; password: string } | undefined {
  if (!c) return undefined;
  if (c.token) return { token: c.token };
  if (c.username !== undefined && c.password !== undefined)
    return { username: c.username, password: c.password };
  return undefined;
}

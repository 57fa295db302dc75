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
}

export type RegistryProvider = 'ecr' | 'gar' | 'acr' | 'ghcr';

// Typed registry failures, so discovery can tell "wrong credentials" from "this registry has no catalog" and
// the user reads what was tried (never the secret) and what to do.

/** Credentials were refused, or none were given where they are needed. */
export class RegistryAuthError extends Error {
  constructor(
    message: string,
    readonly registry: string,
    /** What was tried, e.g. "Basic as user ci", "Bearer token from https://auth/token anonymously". */
    readonly tried: string,
    /**
     * `credentials`: the registry or its token server refused them; `access`: they were accepted but do not
     * grant the requested scope.
     */
    readonly stage: 'credentials' | 'access',
  ) {
    super(message);
    this.name = 'RegistryAuthError';
  }
}

/** The registry does not offer a repository listing (`_catalog`) to us. */
export class RegistryNotListableError extends Error {
  constructor(
    message: string,
    readonly registry: string,
  ) {
    super(message);
    this.name = 'RegistryNotListableError';
  }
}

/** Any other unexpected answer (status and URL path named; bodies of registry errors are short JSON). */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly registry: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

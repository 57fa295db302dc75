// The environment of every process the action starts, built in one place from an allow-list (no secret reaches a
// child, and nothing in the job's environment changes what Trivy reports). A deny-list would let through whatever
// secret the runner or an earlier step adds next (INPUT_*, ACTIONS_RUNTIME_TOKEN, AWS_*, GITHUB_TOKEN...) and every
// TRIVY_* variable that silently changes what Trivy reports. A child gets only what it needs to run, to reach the
// network and a container daemon, plus what its caller adds.

/** Exact names a child may inherit (compared case-insensitively: Windows spells them Path, SystemRoot...). */
const INHERITED = new Set(
  [
    // finding programs, a home, temporary files
    'PATH',
    'HOME',
    'USER',
    'LOGNAME',
    'SHELL',
    'TMPDIR',
    'TMP',
    'TEMP',
    // locale and time zone
    'LANG',
    'LANGUAGE',
    'TZ',
    // proxies (HTTP clients read both spellings)
    'HTTP_PROXY',
    'HTTPS_PROXY',
    'NO_PROXY',
    'ALL_PROXY',
    // CA bundles for TLS-intercepting proxies and private registries
    'SSL_CERT_FILE',
    'SSL_CERT_DIR',
    'NODE_EXTRA_CA_CERTS',
    // reaching a container daemon when an image is read from it
    'DOCKER_HOST',
    'DOCKER_TLS_VERIFY',
    'DOCKER_CERT_PATH',
    'DOCKER_CONTEXT',
    'CONTAINERD_ADDRESS',
    'CONTAINERD_NAMESPACE',
    'XDG_RUNTIME_DIR',
    // Windows: processes fail to start or find their profile without these
    'SYSTEMROOT',
    'WINDIR',
    'COMSPEC',
    'PATHEXT',
    'USERPROFILE',
    'APPDATA',
    'LOCALAPPDATA',
    'PROGRAMDATA',
  ].map((n) => n.toUpperCase()),
);

function inherited(name: string): boolean {
  const upper = name.toUpperCase();
  return INHERITED.has(upper) || upper === 'LC_ALL' || /^LC_[A-Z]+$/.test(upper);
}

/**
 * The environment for a child: the allow-listed variables of `parent`, then `added` (what the caller sets on
 * purpose, e.g. the private DOCKER_CONFIG). Nothing else: no INPUT_*, no runner tokens, no cloud credentials, no
 * TRIVY_* the job set.
 */
export function childEnvironment(
  parent: NodeJS.ProcessEnv,
  added: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && inherited(name)) env[name] = value;
  }
  return { ...env, ...added };
}

/** TRIVY_* variables the job set: Trivy would read them as flags, so they are left out (and the user told). */
export function trivyVariablesIn(parent: NodeJS.ProcessEnv): string[] {
  return Object.keys(parent)
    .filter((name) => name.toUpperCase().startsWith('TRIVY_') && parent[name] !== undefined)
    .sort();
}

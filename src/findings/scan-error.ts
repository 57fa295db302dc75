// Trivy's fatal errors are long and nested ("run error: image scan error: ... 4 errors occurred:\n\t* docker error:
// ...\n\t* remote error: GET ...: UNAUTHORIZED"). Where one line must do (a violation, an annotation), the line that
// says what the registry answered is the useful one; the full text stays in the summary and the results file.

/** The most telling single line of a scan error. */
export function scanErrorHeadline(error: string | undefined): string {
  const lines = (error ?? '')
    .split('\n')
    .map((l) => l.trim().replace(/^\*\s*/, ''))
    .filter(Boolean);
  if (lines.length === 0) return 'unknown error';
  const remote = lines.find((l) => l.startsWith('remote error:'));
  if (remote) return remote;
  // Trivy's wrappers add nothing a reader needs.
  let first = lines[0];
  for (let prev = ''; prev !== first;) {
    prev = first;
    first = first.replace(
      /^(run error|image scan error|scan error|unable to initialize [a-z ]+service): /,
      '',
    );
  }
  return first.trim() || lines[0];
}

/** Causes that are the registry's, the same for every image on it: reported once per registry, not per image. */
export type RegistryCause = 'credentials' | 'tls';

export interface ExplainedScanError {
  /** The registry's own words (or Trivy's), without the daemon/containerd/podman fallbacks Trivy tried first. */
  cause: string;
  registryCause?: RegistryCause;
  /** What to change, for causes the workflow can fix. */
  fix?: string;
}

const CREDENTIALS_REFUSED =
  /\b(UNAUTHORIZED|DENIED)\b|unexpected status code 40[13]\b|authentication required/;
const UNTRUSTED_CERTIFICATE =
  /\bx509: |tls: failed to verify certificate|certificate signed by unknown authority/;

/**
 * A failed scan explained for the log: the registry's cause first, then the fix. Only the `remote` source's error
 * is read for registry causes: the daemon's "cannot connect" is expected on a runner without one.
 */
export function explainScanError(error: string | undefined, registry: string): ExplainedScanError {
  const headline = scanErrorHeadline(error);
  const remote = headline.startsWith('remote error:')
    ? headline.slice('remote error:'.length).trim()
    : undefined;
  const registryText = remote ?? headline;
  if (UNTRUSTED_CERTIFICATE.test(registryText)) {
    return {
      cause: `${registry} presented a TLS certificate that is not trusted: ${registryText}`,
      registryCause: 'tls',
      fix:
        'if it is signed by a private CA, give the CA file to the action and to Trivy: set NODE_EXTRA_CA_CERTS and ' +
        "SSL_CERT_FILE to its path in the step's env.",
    };
  }
  if (CREDENTIALS_REFUSED.test(registryText)) {
    return {
      cause: `${registry} refused the pull: ${registryText}`,
      registryCause: 'credentials',
      fix:
        `give credentials for ${registry}: registry-username and registry-password (or registry-token), or an ` +
        'entry in registry-auth; if some were given, check them and their pull permission.',
    };
  }
  return { cause: registryText };
}

// Reading what Trivy prints: pure, shared by the installer, the DB download and the scans.

/** `trivy --version --format json` output -> version and DB build time. */
export function parseVersionJson(stdout: string): { version: string; dbUpdatedAt?: string } | undefined {
  try {
    const parsed = JSON.parse(stdout) as { Version?: unknown; VulnerabilityDB?: { UpdatedAt?: unknown } };
    if (typeof parsed.Version !== 'string' || !parsed.Version) return undefined;
    const updated = parsed.VulnerabilityDB?.UpdatedAt;
    return { version: parsed.Version, ...(typeof updated === 'string' ? { dbUpdatedAt: updated } : {}) };
  } catch {
    return undefined;
  }
}

/** Trivy's FATAL line(s) without the timestamp and the "Fatal error" label, else its last error lines. */
export function trivyFatalText(stderr: string): string {
  const lines = stderr.split(/\r?\n/);
  const at = lines.findIndex((l) => /\tFATAL\t/.test(l));
  if (at >= 0) {
    const [first, ...rest] = lines.slice(at);
    return [first.replace(/^.*?\tFATAL\t(Fatal error\t)?/, ''), ...rest].join('\n').trim();
  }
  const errors = lines.filter((l) => /\tERROR\t/.test(l)).map((l) => l.replace(/^.*?\tERROR\t/, ''));
  if (errors.length) return errors.join('\n').trim();
  return lines
    .filter((l) => l.trim())
    .slice(-10)
    .join('\n')
    .trim();
}

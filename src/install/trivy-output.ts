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

/** Trivy's FATAL line(s) without the timestamp and the "Fatal error" label, else its last error lines; bounded. */
export function trivyFatalText(stderr: string): string {
  return boundedErrorText(fatalText(stderr));
}

function fatalText(stderr: string): string {
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

const MAX_ERROR_LINES = 12;
const MAX_ERROR_CHARS = 1000;
const TRUNCATED = '…(truncated)…';

/**
 * One image's error text as it travels into the results file, the summary and annotations: at most a dozen lines
 * and a thousand characters. Trivy's (or a wrapper's) stderr is untrusted and may be huge
 * (captured text is always bounded).
 * Head and tail are kept: Trivy puts the context first and the registry's own words in its last line.
 */
export function boundedErrorText(text: string): string {
  let lines = text.split('\n');
  if (lines.length > MAX_ERROR_LINES) {
    const head = Math.floor((MAX_ERROR_LINES - 1) / 2);
    lines = [...lines.slice(0, head), TRUNCATED, ...lines.slice(lines.length - (MAX_ERROR_LINES - 1 - head))];
  }
  const points = Array.from(lines.join('\n'));
  if (points.length <= MAX_ERROR_CHARS) return points.join('');
  const half = Math.floor((MAX_ERROR_CHARS - TRUNCATED.length) / 2);
  return `${points.slice(0, half).join('')}${TRUNCATED}${points.slice(points.length - half).join('')}`;
}

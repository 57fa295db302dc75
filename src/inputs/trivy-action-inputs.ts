import { ConfigurationError } from '../errors.js';

// A step moved from aquasecurity/trivy-action often keeps some of its inputs. The runner sets INPUT_<NAME> for
// every `with:` key, known or not (and only warns), so those values would be silently dropped and the step would
// scan and gate differently from what its author reads. Each trivy-action input that has no input of the same name
// here is looked for, and the step stops before any work with what to write instead.
// trivy-action's inputs that do exist here (severity, ignore-unfixed, skip-dirs, skip-files, timeout, ignore-policy,
// scanners, trivy-config) are read as this action's own; the README's "Moving from trivy-action" table says where
// their meaning differs.

type Read = (name: string) => string;

/** trivy-action input -> what to write here instead, given its value (and the other inputs of the step). */
const GUIDANCE: Record<string, (value: string, get: Read) => string> = {
  'image-ref': (v) => `write \`images: ${v}\` (one image per line, as many as you like)`,
  'scan-type': (v) =>
    v.toLowerCase() === 'image'
      ? 'remove it: this action scans container images'
      : `this action scans container images only; \`scan-type: ${v}\` stays with trivy-action (to scan the images a repository's files reference, use \`discover-files\`)`,
  'scan-ref': () =>
    "remove it: this action scans container images only (to scan the images a repository's files reference, use `discover-files`)",
  input: () =>
    "name the image archive or OCI layout in `images`, with the path prefix the README's local images section describes",
  'exit-code': exitCodeGuidance,
  'vuln-type': (v) => `write \`pkg-types: ${v}\``,
  format: (v) =>
    `remove it: every format is written from one scan (${formatFile(v)}); for an SBOM use \`sbom: cyclonedx\` or \`sbom: spdx\``,
  template: () =>
    "remove it: Trivy's own JSON for each image is written to `output-dir`/reports/ (render it with `trivy convert --format template` if you need a template)",
  output: () =>
    'remove it, or set `output-dir`: results.json, results.sarif and summary.md are written there (outputs `results-file`, `sarif-file`, `summary-file` give their paths)',
  'cache-dir': () => "remove it: Trivy's DBs are kept in the Actions cache by the action (`cache-db: true`)",
  'hide-progress': () => 'remove it: Trivy runs quietly; the log has one line per image',
  'list-all-pkgs': () =>
    'remove it: for every package use `sbom: cyclonedx` (one SBOM per image) or `dependency-graph: true`',
  trivyignores: (v) => `write \`ignore-file: ${v}\` (a list of files, merged; each applied with its expiry)`,
  'github-pat': () =>
    'remove it: write `dependency-graph: true`; the snapshot is submitted with `github-token` (needs `contents: write`)',
  'tf-vars': () =>
    'remove it: Terraform variables apply to config scans; this action scans container images only',
  'limit-severities-for-sarif': () =>
    'remove it: `severity` already limits SARIF, the summary, comment and annotations (the gate has its own `fail-on`)',
  'docker-host': () =>
    'remove it: to scan an image from the Docker daemon write `image-source: docker` (Trivy finds the daemon through DOCKER_HOST)',
  version: (v) =>
    `write \`trivy-version: ${v.replace(/^v/, '')}\` (an exact version; the archive is checked against its SHA-256)`,
  cache: (v) => `write \`cache-db: ${v}\``,
  'skip-setup-trivy': () =>
    'remove it, or write `trivy-path: trivy` to use the Trivy already on PATH instead of downloading one',
  'token-setup-trivy': () =>
    'remove it: Trivy is downloaded from `trivy-download-url` and verified against the SHA-256 the action ships; no token is needed',
};

/** Secrets: named in the message, never quoted (a secret never reaches the log). */
const SECRET_INPUTS = new Set(['github-pat', 'token-setup-trivy']);

/** trivy-action's input names that this action does not have (the README's migration table lists them all). */
export const TRIVY_ACTION_ONLY_INPUTS: readonly string[] = Object.keys(GUIDANCE);

/**
 * Fails when the step gives any of trivy-action's inputs that this action does not have, naming each one and what
 * to write instead. Values are the workflow's own (trusted), so they may be quoted back, except tokens.
 */
export function checkTrivyActionInputs(get: Read): void {
  const found = TRIVY_ACTION_ONLY_INPUTS.filter((name) => get(name).trim() !== '');
  if (found.length === 0) return;
  const lines = found.map((name) => {
    const value = oneLine(get(name));
    const subject = SECRET_INPUTS.has(name) ? `\`${name}\`` : `\`${name}: ${value}\``;
    // exit-code's advice reads as one sentence with the value: "`exit-code: 1` with `severity: HIGH` is `fail-on:
    // high` here".
    const joiner = name === 'exit-code' ? ' ' : ': ';
    return `- ${subject}${joiner}${GUIDANCE[name](value, get)}.`;
  });
  throw new ConfigurationError(
    `This step uses aquasecurity/trivy-action's input${found.length > 1 ? 's' : ''}, which this action does not ` +
      `read:\n${lines.join('\n')}\nSee "Moving from trivy-action" in the README for the whole mapping.`,
    found[0],
  );
}

/** trivy-action's exit-code fails the step on any finding of the shown severities; here that is `fail-on`. */
function exitCodeGuidance(value: string, get: Read): string {
  if (value.trim() === '0') return 'never fails the step: write `gate: warn` (or `gate: off`) instead';
  const shown = get('severity')
    .split(/[\s,]+/)
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const order = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
  const lowest = order.find((s) => shown.includes(s)) ?? 'UNKNOWN';
  // `severity` is an input here too (its default is every severity), so only a narrowed one is worth naming.
  const narrowed = shown.length > 0 && shown.length < order.length;
  const given = narrowed ? `with \`severity: ${shown.join(',')}\` ` : '';
  return (
    `${given}is \`fail-on: ${lowest.toLowerCase()}\` here (the step fails on any finding of that severity or ` +
    'higher; `severity` only chooses what is shown)'
  );
}

function formatFile(format: string): string {
  const f = format.trim().toLowerCase();
  if (f === 'sarif') return 'results.sarif is written to `output-dir` and uploaded to code scanning';
  if (f === 'json') return "results.json and Trivy's own JSON per image are written to `output-dir`";
  return 'results.json, results.sarif and summary.md in `output-dir`, and the job summary';
}

/** A workflow value on one line of the message (a block scalar may span lines). */
function oneLine(value: string): string {
  const flat = value.trim().replace(/\s*\r?\n\s*/g, ',');
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

import { SEVERITIES, type Cvss, type Finding, type FindingClass, type Severity } from '../model.js';
import { normaliseRegistryHost, tryParseImageReference } from '../targets/reference.js';

// Trivy's JSON report (SchemaVersion 2, unchanged from v0.4x to v0.74) -> findings. Every field is optional:
// older releases omit `Trivy`, `ReportID`, `RepoDigests`, `Fingerprint`, `Class`; a clean image has no
// `Vulnerabilities` (or `null`); a repository scan has no `Metadata`. Anything that is not an object where one is
// expected is skipped rather than trusted. Pure: the caller reads the file.

export class InvalidTrivyReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTrivyReportError';
  }
}

export interface ParsedTrivyReport {
  artifactName?: string;
  artifactType?: string;
  /** Repo digest (sha256:...) of what was scanned. */
  digest?: string;
  imageId?: string;
  os?: { family: string; name: string; eosl?: boolean };
  trivyVersion?: string;
  createdAt?: string;
  findings: Finding[];
}

type Json = Record<string, unknown>;

export function parseTrivyReport(raw: unknown, source = 'the Trivy report'): ParsedTrivyReport {
  if (!isObject(raw)) {
    throw new InvalidTrivyReportError(`${source} is not a Trivy JSON report: expected a JSON object.`);
  }
  if (raw.SchemaVersion === undefined) {
    throw new InvalidTrivyReportError(
      `${source} is not a Trivy JSON report (no "SchemaVersion"): give a report written by ` +
        '`trivy image --format json`, or a results file written by Image Scan Gate.',
    );
  }
  if (raw.SchemaVersion !== 2) {
    throw new InvalidTrivyReportError(
      `${source} has Trivy report SchemaVersion ${typeof raw.SchemaVersion === 'number' ? raw.SchemaVersion : '(not a number)'}; only SchemaVersion 2 ` +
        '(Trivy 0.20 and later) is supported.',
    );
  }
  if (raw.Results !== undefined && raw.Results !== null && !Array.isArray(raw.Results)) {
    throw new InvalidTrivyReportError(`${source} is not a Trivy JSON report: "Results" is not a list.`);
  }

  const metadata = isObject(raw.Metadata) ? raw.Metadata : {};
  const artifactName = str(raw.ArtifactName);
  const findings: Finding[] = [];
  for (const result of list(raw.Results)) findings.push(...resultFindings(result));

  const os = isObject(metadata.OS) ? metadata.OS : undefined;
  const family = str(os?.Family);
  const trivy = isObject(raw.Trivy) ? raw.Trivy : {};
  return {
    ...(artifactName !== undefined && { artifactName }),
    ...optional('artifactType', str(raw.ArtifactType)),
    ...optional('digest', pickDigest(strings(metadata.RepoDigests), artifactName)),
    ...optional('imageId', str(metadata.ImageID)),
    ...(family !== undefined && {
      os: {
        family,
        name: str(os?.Name) ?? '',
        ...(typeof os?.EOSL === 'boolean' && { eosl: os.EOSL }),
      },
    }),
    ...optional('trivyVersion', str(trivy.Version)),
    ...optional('createdAt', str(raw.CreatedAt)),
    findings,
  };
}

function resultFindings(result: Json): Finding[] {
  const target = str(result.Target) ?? '';
  const type = str(result.Type);
  const resultClass = str(result.Class);
  const out: Finding[] = [];
  const vulnerabilities = list(result.Vulnerabilities);
  if (vulnerabilities.length > 0) {
    const cls = vulnerabilityClass(resultClass, type);
    for (const v of vulnerabilities) {
      const finding = vulnerabilityFinding(v, cls, target, type);
      if (finding) out.push(finding);
    }
  }
  for (const s of list(result.Secrets)) {
    const id = str(s.RuleID);
    if (!id) continue;
    // The matched text (`Match`, `Code`) is never kept: even redacted, it does not belong in results or SARIF.
    out.push({
      id,
      pkg: '',
      severity: severity(s.Severity),
      ...optional('title', str(s.Title)),
      ...optional('description', str(s.Category)),
      class: 'secret',
      target,
      ...optional('type', type),
      ...optional('layer', layer(s.Layer)),
    });
  }
  for (const m of list(result.Misconfigurations)) {
    // Trivy lists passed checks too (with --include-non-failures); only failures are findings.
    if (str(m.Status) !== undefined && str(m.Status) !== 'FAIL') continue;
    const id = str(m.ID) ?? str(m.AVDID);
    if (!id) continue;
    const avdId = str(m.AVDID);
    out.push({
      id,
      ...(avdId !== undefined && avdId !== id && { aliases: [avdId] }),
      pkg: '',
      severity: severity(m.Severity),
      ...optional('title', str(m.Title)),
      ...optional('description', str(m.Message) ?? str(m.Description)),
      ...optional('url', str(m.PrimaryURL)),
      class: 'config',
      target,
      ...optional('type', type),
      ...optional('layer', layer(m.Layer)),
    });
  }
  for (const l of list(result.Licenses)) {
    const name = str(l.Name);
    if (!name) continue;
    const category = str(l.Category);
    out.push({
      id: name,
      pkg: str(l.PkgName) ?? '',
      ...optional('pkgPath', str(l.FilePath)),
      severity: severity(l.Severity),
      ...optional('title', category ? `${name} (${category})` : name),
      ...optional('url', str(l.Link)),
      class: 'license',
      target,
      ...optional('type', type),
      ...optional('layer', layer(l.Layer)),
    });
  }
  return out;
}

function vulnerabilityFinding(
  v: Json,
  cls: FindingClass,
  target: string,
  type?: string,
): Finding | undefined {
  const id = str(v.VulnerabilityID);
  if (!id) return undefined;
  const aliases = strings(v.VendorIDs);
  const identifier = isObject(v.PkgIdentifier) ? v.PkgIdentifier : {};
  const severitySource = str(v.SeveritySource);
  const cvssBySource = isObject(v.CVSS) ? v.CVSS : {};
  const ofSource = severitySource !== undefined ? cvssBySource[severitySource] : undefined;
  const v3OfSource = isObject(ofSource) ? num(ofSource.V3Score) : undefined;
  return {
    id,
    ...(aliases.length > 0 && { aliases }),
    pkg: str(v.PkgName) ?? '',
    ...optional('pkgId', str(v.PkgID)),
    ...optional('pkgPath', str(v.PkgPath)),
    ...optional('purl', str(identifier.PURL)),
    ...optional('installed', str(v.InstalledVersion)),
    ...optional('fixed', str(v.FixedVersion)),
    ...optional('status', str(v.Status)),
    severity: severity(v.Severity),
    ...optional('severitySource', severitySource),
    ...optional('cvss', highestCvss(cvssBySource)),
    ...optional('cvssV3OfSource', v3OfSource),
    ...optional('title', str(v.Title)),
    ...optional('description', str(v.Description)),
    ...optional('url', str(v.PrimaryURL)),
    class: cls,
    target,
    ...optional('type', type),
    ...optional('layer', layer(v.Layer)),
    ...optional('publishedDate', str(v.PublishedDate)),
  };
}

const CVSS_VERSIONS = [
  { version: '4', score: 'V40Score', vector: 'V40Vector' },
  { version: '3', score: 'V3Score', vector: 'V3Vector' },
  { version: '2', score: 'V2Score', vector: 'V2Vector' },
] as const;

/**
 * The highest score Trivy gives, across every source and CVSS version (a gate on `max-cvss` must not pass a
 * finding some source scores above the limit). Ties go to the newer CVSS version, then to the source name in
 * alphabetical order, so the choice is stable.
 */
export function highestCvss(cvssBySource: Json): Cvss | undefined {
  let best: Cvss | undefined;
  for (const source of Object.keys(cvssBySource).sort()) {
    const entry = cvssBySource[source];
    if (!isObject(entry)) continue;
    for (const v of CVSS_VERSIONS) {
      const score = num(entry[v.score]);
      if (score === undefined) continue;
      if (best && (score < best.score || (score === best.score && Number(v.version) <= Number(best.version))))
        continue;
      best = { score, source, ...optional('vector', str(entry[v.vector])), version: v.version };
    }
  }
  return best;
}

const OS_FAMILIES = new Set([
  'alma',
  'alpine',
  'amazon',
  'azurelinux',
  'bottlerocket',
  'cbl-mariner',
  'centos',
  'chainguard',
  'debian',
  'echo',
  'fedora',
  'minimos',
  'opensuse',
  'opensuse.leap',
  'opensuse.tumbleweed',
  'oracle',
  'photon',
  'redhat',
  'rocky',
  'sles',
  'slem',
  'ubuntu',
  'wolfi',
]);

/** Result.Class when Trivy wrote it; very old reports lack it, and then an OS family as Type means OS packages. */
function vulnerabilityClass(resultClass: string | undefined, type: string | undefined): FindingClass {
  switch (resultClass) {
    case 'os-pkgs':
    case 'lang-pkgs':
    case 'secret':
    case 'config':
    case 'license':
      return resultClass;
    case undefined:
      if (type === undefined) return 'unknown';
      return OS_FAMILIES.has(type) ? 'os-pkgs' : 'lang-pkgs';
    default:
      return 'unknown';
  }
}

/** `repo@sha256:...` entries; several when one image was pushed to several repositories. */
function pickDigest(repoDigests: string[], artifactName: string | undefined): string | undefined {
  const entries = repoDigests
    .map((entry) => {
      const at = entry.lastIndexOf('@');
      return at > 0 ? { repo: entry.slice(0, at), digest: entry.slice(at + 1) } : undefined;
    })
    .filter((e) => e !== undefined && e.digest.includes(':'));
  if (entries.length === 0) return artifactName !== undefined ? digestOf(artifactName) : undefined;
  if (entries.length > 1 && artifactName !== undefined) {
    const wanted = repositoryKey(artifactName);
    const match = entries.find((e) => repositoryKey(e!.repo) === wanted);
    if (match) return match.digest;
  }
  return entries[0]!.digest;
}

/** The digest of a reference pinned with `@sha256:...` (Trivy omits RepoDigests for some remote scans). */
function digestOf(reference: string): string | undefined {
  const match = /@(sha256:[a-f0-9]{64})$/.exec(reference);
  return match?.[1];
}

/** `host/repository` with Docker's normalisation, so `nginx:1.25` and `index.docker.io/library/nginx` agree. */
function repositoryKey(reference: string): string {
  const parsed = tryParseImageReference(reference);
  if (!parsed.ok) return reference.replace(/@.*$/, '');
  return `${normaliseRegistryHost(parsed.value.registry)}/${parsed.value.repository}`;
}

function layer(value: unknown): Finding['layer'] | undefined {
  if (!isObject(value)) return undefined;
  const digest = str(value.Digest);
  const diffId = str(value.DiffID);
  if (digest === undefined && diffId === undefined) return undefined;
  return { ...optional('digest', digest), ...optional('diffId', diffId) };
}

const SEVERITY_SET = new Set<string>(SEVERITIES);

/** Trivy writes upper case; anything it might invent later counts as UNKNOWN rather than failing the run. */
function severity(value: unknown): Severity {
  const upper = typeof value === 'string' ? value.trim().toUpperCase() : '';
  return SEVERITY_SET.has(upper) ? (upper as Severity) : 'UNKNOWN';
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

/** A list of objects; `null`, a missing field or non-object entries give nothing. */
function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter(isString) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** `{ key: value }` when value is defined, else `{}`: keeps absent fields absent (exactOptionalPropertyTypes-safe). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

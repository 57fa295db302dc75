// The plain data that flows between stages: inputs -> install -> auth -> targets -> scan -> findings
// -> policy -> reports -> publish. No classes, no I/O: every stage takes and returns these shapes.

export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse, following SEVERITIES (worst first). UNKNOWN ranks lowest, as Trivy orders it. */
export const SEVERITY_RANK = Object.fromEntries(
  SEVERITIES.map((severity, i) => [severity, SEVERITIES.length - 1 - i]),
) as Record<Severity, number>;

export type SeverityCounts = Record<Severity, number>;

/** Where an image is referenced in the repository (Dockerfile FROM line, manifest image: line, ...). */
export interface Origin {
  file: string; // path relative to the workspace, forward slashes
  line: number; // 1-based
  column?: number;
  /** The platform this reference builds for (a Dockerfile `FROM --platform=`), when the file says. */
  platform?: string;
  /** How the reference was rewritten before it was scanned (a Kustomize `images:` override). */
  note?: string;
}

export type TargetSource = 'listed' | 'registry' | 'file';

/** Local daemons Trivy can read an image from (its `--image-src` values besides `remote`). */
export const IMAGE_DAEMONS = ['docker', 'containerd', 'podman'] as const;
export type ImageDaemon = (typeof IMAGE_DAEMONS)[number];

/** Files Trivy reads with `--input`: a `docker save` tarball, an OCI layout in a tar, an OCI layout directory. */
export const ARCHIVE_FORMATS = ['docker-archive', 'oci-archive', 'oci-dir'] as const;
export type ArchiveFormat = (typeof ARCHIVE_FORMATS)[number];

/** Where Trivy reads an image that is not (or not yet) in a registry; a Target without it is read from the registry. */
type LocalImage =
  | { kind: 'daemon'; daemon: ImageDaemon }
  | {
      kind: 'archive';
      format: ArchiveFormat;
      /** Absolute path, lexically inside the workspace or RUNNER_TEMP (symlinks are checked before the scan). */
      path: string;
      /** The config digest read from the archive before the scan; Trivy's ImageID must agree. */
      imageId?: string;
    };

export interface Target {
  /** Normalised reference as scanned: `registry/repository[:tag][@digest]` (docker.io/library/alpine:3.19). */
  ref: string;
  /** What the user or the file wrote, for display. */
  input: string;
  registry: string; // host[:port], e.g. docker.io, ghcr.io, localhost:5000
  repository: string; // e.g. library/alpine
  tag?: string;
  digest?: string; // sha256:...
  /** Other tags that share this digest (registry discovery merges them). */
  tags?: string[];
  platform?: string;
  /**
   * Scan exactly `digest`, though the image is named by its tag: a shard of a plan (`repo:tag@sha256:...` lines)
   * scans what the plan resolved and still reports it as `repo:tag`, as the single run would.
   */
  pinned?: boolean;
  origins: Origin[];
  sources: TargetSource[];
  /** Creation/push time when discovery knows it (newest-first ordering). */
  createdAt?: string;
  /** Set for images read from a local daemon or an archive (`images` prefixes, `image-source`). */
  local?: LocalImage;
}

/** A target discovery found but did not scan (over max-images, unresolvable reference, ...). */
export interface SkippedTarget {
  ref: string;
  reason: string;
  origins?: Origin[];
}

export type FindingClass = 'os-pkgs' | 'lang-pkgs' | 'secret' | 'config' | 'license' | 'unknown';

export interface Cvss {
  score: number; // highest score across sources (v4 preferred over v3 at equal source? no: highest)
  source: string; // e.g. nvd, redhat, ghsa
  vector?: string;
  version: '2' | '3' | '4';
}

export interface Finding {
  id: string; // CVE-..., GHSA-..., DS-0002, secret rule id
  aliases?: string[];
  pkg: string; // package name ('' for secrets / misconfigurations)
  pkgId?: string;
  pkgPath?: string;
  purl?: string;
  installed?: string;
  /** Fixed version(s) as Trivy wrote them; may be a comma-separated list. */
  fixed?: string;
  status?: string; // fixed, affected, will_not_fix, ...
  severity: Severity;
  severitySource?: string;
  cvss?: Cvss;
  /** CVSS v3 score of the severity source (what Trivy's SARIF uses for security-severity). */
  cvssV3OfSource?: number;
  title?: string;
  description?: string;
  url?: string;
  class: FindingClass;
  /** Trivy's Result.Target, e.g. "alpine:3.10 (alpine 3.10.2)" or "usr/local/app/package-lock.json". */
  target: string;
  type?: string; // Trivy's Result.Type (alpine, debian, npm, dockerfile, ...)
  layer?: { digest?: string; diffId?: string };
  publishedDate?: string;
}

/** A package Trivy found in an image (its `Packages[]`, asked for only when an SBOM or the dependency graph needs it). */
export interface InstalledPackage {
  name: string;
  version?: string;
  purl?: string;
  /** Trivy's Result.Type (alpine, debian, npm, gobinary, ...). */
  type?: string;
  /** Trivy's Result.Target: the OS or the lock file the package was found in. */
  target: string;
  pkgPath?: string;
}

export type ImageStatus = 'scanned' | 'reused' | 'failed';

export interface ImageResult {
  target: Target;
  digest?: string; // repo digest sha256:... of what was actually scanned
  imageId?: string;
  os?: { family: string; name: string; eosl?: boolean };
  status: ImageStatus;
  error?: string; // Trivy's own error text when failed
  findings: Finding[];
  /** Every package of the image: present only when `sbom` asked Trivy for them (`--list-all-pkgs`). */
  packages?: InstalledPackage[];
  trivyVersion?: string;
  dbUpdatedAt?: string;
  /** Path (relative to output-dir) of the raw Trivy report, when one was written. */
  rawReport?: string;
  durationMs?: number;
}

export interface Violation {
  rule: string; // 'fail-on' | 'max-<severity>' | 'max-cvss' | 'scan-error' | 'expired-ignore'
  image?: string; // ref
  findings: string[]; // finding ids (with package) that raised it
  threshold: string; // human readable: 'HIGH', '> 10', '>= 9.0'
  message: string;
}

export interface AppliedIgnore {
  image: string;
  findingId: string;
  pkg: string;
  pkgPath?: string;
  rule: string; // where the ignore came from: policy file line, .trivyignore line
  reason?: string;
  expires?: string;
  /** Set when the rule is a VEX statement: its status. */
  vex?: 'not_affected' | 'fixed';
}

export interface ExpiredIgnore {
  id: string;
  expires: string;
  source: string;
  reason?: string;
}

export interface ImageRuleUse {
  match: string;
  /** `policy.yml:14`. */
  source: string;
  /** Images whose rules it set (first match wins). */
  applied: number;
  note?: string;
}

export interface Verdict {
  result: 'pass' | 'fail' | 'warn';
  violations: Violation[];
  /** Problems the policy downgrades to warnings (scan-errors: warn, expired-ignores: warn). */
  warnings?: Violation[];
  ignored: AppliedIgnore[];
  expiredIgnores: ExpiredIgnore[];
  unusedIgnores: { id: string; source: string; vex?: 'not_affected' | 'fixed' }[];
  /** Each `images[]` rule of the policy file: how many images it applied to, and why none when so. */
  imageRules?: ImageRuleUse[];
  /** The effective policy, for display. */
  policy?: unknown;
}

export const RESULTS_SCHEMA = 'image-scan-gate/results@1';

/**
 * The shard of a plan (`mode: discover` with `shards`) a run scanned, and the images it was given (`repo:tag@digest`
 * where discovery pinned them): the fan-in job checks every planned image came back.
 */
/** Matrix entries `shards` may ask for (GitHub runs at most 256 jobs per matrix); also bounds a results file's claim. */
export const MAX_SHARDS = 256;

/** A plan's id: the first 12 hex digits of the SHA-256 of its shards, so the same plan always has the same id. */
export const PLAN_ID_PATTERN = /^[0-9a-f]{12}$/;

export interface PlannedShard {
  id: string;
  shard: number; // 1-based
  shards: number;
  images: string[];
}

/** The results file: everything after scanning is a function of this. */
export interface ResultsFile {
  schema: typeof RESULTS_SCHEMA;
  tool: { name: 'image-scan-gate'; version: string };
  trivyVersion?: string;
  dbUpdatedAt?: string;
  createdAt: string;
  images: ImageResult[];
  skipped: SkippedTarget[];
  /** Set by a shard job: an optional field of results@1 (older readers skip it). */
  plan?: PlannedShard;
  /** Set when the run was compared with a baseline (or looked for one): optional on @1. */
  delta?: ResultsDelta;
  /** Newer tags of the Dockerfile FROM images, scanned apart (never in `images`, the gate or SARIF): optional on @1. */
  baseImageAdvice?: BaseImageAdvice[];
  verdict?: Verdict;
}

export function emptyCounts(): SeverityCounts {
  return { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0 };
}

export function countBySeverity(findings: readonly Finding[]): SeverityCounts {
  const counts = emptyCounts();
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/**
 * A finding from Trivy's Vulnerabilities list: OS and language packages, and `unknown` — the class of a vulnerability
 * whose Result.Class Trivy left out or named in a way this version does not know (findings/trivy-report.ts). One
 * predicate for the gate (ignore-unfixed) and SARIF (CVSS as security-severity), which used to disagree on `unknown`.
 */
export function isVulnerability(f: Finding): boolean {
  return f.class === 'os-pkgs' || f.class === 'lang-pkgs' || f.class === 'unknown';
}

/** A finding is fixable when Trivy names at least one fixed version. */
export function isFixable(f: Finding): boolean {
  return (f.fixed ?? '').split(',').some((v) => v.trim() !== '');
}

/** A finding as the baseline delta records it: enough to name it, since a fixed one is in no current image. */
export type DeltaFinding = Pick<Finding, 'id' | 'pkg' | 'severity' | 'class' | 'target'> &
  Partial<Pick<Finding, 'pkgPath' | 'installed' | 'fixed' | 'title' | 'url'>>;

/** One image against the base branch: matched by repository (and file origin), never by tag or digest. */
export interface ImageDelta {
  /** The current image's ref; the baseline image's for a removed one. */
  ref: string;
  /** For a compared image, the baseline image's ref (another tag of the same repository, say). */
  baselineRef?: string;
  change: 'compared' | 'added' | 'removed';
  new: DeltaFinding[];
  fixed: DeltaFinding[];
  unchanged: number;
}

/** What changed against the baseline (the last results of the base branch), recorded in the results file. */
export interface ResultsDelta {
  /** Where the baseline came from (its file, or the cache) and when its run was. */
  baseline?: { source: string; createdAt: string };
  /** Why there is no baseline (first run, cache miss): the gate then applies the full policy. */
  missing?: string;
  images: ImageDelta[];
}

/** The findings of one image that base image advice weighs. */
export interface FindingTally {
  critical: number;
  high: number;
  total: number;
}

/** One newer tag of a FROM image, as its scan came out. */
export interface BaseImageCandidate {
  tag: string;
  ref: string;
  digest?: string;
  status: 'scanned' | 'failed';
  tally?: FindingTally;
  error?: string;
}

/** For one Dockerfile FROM image with fixable findings: the newer tags scanned on its track, and the best move. */
export interface BaseImageAdvice {
  /** The FROM image as scanned (`registry/repository:tag`). */
  ref: string;
  tag: string;
  /** Its FROM lines. */
  origins: Origin[];
  tally: FindingTally;
  candidates: BaseImageCandidate[];
  /** The candidate that removes the most critical + high findings; absent when none is better. */
  recommended?: { tag: string; ref: string; tally: FindingTally; removed: FindingTally };
}

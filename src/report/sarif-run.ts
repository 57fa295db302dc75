import { compareText } from '../infra/text-order.js';
import {
  SEVERITY_RANK,
  isVulnerability,
  type Finding,
  type ImageResult,
  type Origin,
  type Severity,
  type Target,
} from '../model.js';
import { escapeText } from './markdown.js';
import type {
  SarifLevel,
  SarifLocation,
  SarifResult,
  SarifRule,
  SarifRun,
  SarifSuppression,
} from './sarif-types.js';

// One SARIF run for one image: rules and results compatible with Trivy's own SARIF (same ruleIds, levels,
// security-severity, tags, message text), plus what Trivy leaves out: fingerprints that survive re-tagging,
// locations on the repository lines that reference the image, and suppressions for ignored findings. Pure.

export const TRIVY_INFORMATION_URI = 'https://github.com/aquasecurity/trivy';
/** The driver name of every run, as Trivy's own SARIF has it: code scanning keys analyses by tool and category. */
export const SARIF_DRIVER_NAME = 'Trivy';
/** Versioned: changing what goes into the hash must change the key, or every alert would be re-opened. */
export const FINGERPRINT_KEY = 'imageScanGate/v1';
export const MAX_LOCATIONS_PER_RESULT = 1_000;
const MAX_TAGS_PER_RULE = 20;
const MAX_RULES_PER_RUN = 25_000;
/** Package rows in a rule's help table; the rest are counted, not listed. */
const MAX_HELP_ROWS = 20;

/** Trivy's mapping (pkg/report/sarif.go toSarifErrorLevel). */
export function sarifLevel(severity: Severity): SarifLevel {
  switch (severity) {
    case 'CRITICAL':
    case 'HIGH':
      return 'error';
    case 'MEDIUM':
      return 'warning';
    default:
      return 'note';
  }
}

/** Trivy's severityToScore: used when the severity source gives no CVSS v3 score. */
const SCORE_BY_SEVERITY: Record<Severity, string> = {
  CRITICAL: '9.5',
  HIGH: '8.0',
  MEDIUM: '5.5',
  LOW: '2.0',
  UNKNOWN: '0.0',
};

/** The CVSS v3 score of the severity source, formatted as Trivy writes it ("%.1f"), else the severity's score. */
export function securitySeverity(f: Finding): string {
  if (isVulnerability(f) && f.cvssV3OfSource !== undefined) return f.cvssV3OfSource.toFixed(1);
  return SCORE_BY_SEVERITY[f.severity];
}

/** A finding on its way into a run. */
export interface RunFinding {
  finding: Finding;
  fingerprint: string;
  /** Set when an ignore applies and ignored findings are kept (`sarif-include-ignored`): marked as suppressed. */
  suppression?: { reason?: string };
  /** The images of a merged run (several tags of one repository) that have this finding; else the run's image. */
  images?: readonly string[];
}

function cvssOf(f: Finding): number {
  return f.cvss?.score ?? f.cvssV3OfSource ?? -1;
}

/**
 * The order results are kept in when a run is over a limit: findings still open before suppressed ones (they are
 * what the Security tab is for), then the most severe, the highest CVSS, then by id and package so output is stable.
 */
export function compareRunFindings(a: RunFinding, b: RunFinding): number {
  const x = a.finding;
  const y = b.finding;
  return (
    Number(a.suppression !== undefined) - Number(b.suppression !== undefined) ||
    SEVERITY_RANK[y.severity] - SEVERITY_RANK[x.severity] ||
    cvssOf(y) - cvssOf(x) ||
    compareText(x.id, y.id) ||
    compareText(x.pkg, y.pkg) ||
    compareText(x.pkgPath ?? '', y.pkgPath ?? '') ||
    compareText(x.target ?? '', y.target ?? '') ||
    compareText(x.installed ?? '', y.installed ?? '') ||
    compareText(a.fingerprint, b.fingerprint)
  );
}

export interface ImageRunInput {
  image: ImageResult;
  /** `automationDetails.id`, already unique within the upload. */
  automationId: string;
  /** Kept findings in priority order (see compareRunFindings), deduplicated by fingerprint. */
  findings: readonly RunFinding[];
  trivyVersion?: string;
  toolVersion: string;
  /** Where results point: the image's origins in the repository, or a path derived from its repository. */
  locations: readonly PhysicalLocation[];
}

export type PhysicalLocation = SarifLocation['physicalLocation'];

export function buildImageRun(input: ImageRunInput): SarifRun {
  const { image, findings } = input;
  const ref = image.target.ref;
  const urls = new UrlCache();
  const rules = buildRules(findings, urls);
  const ruleIndex = new Map<string, number>();
  rules.forEach((rule, index) => ruleIndex.set(rule.id, index));

  // Every result of an image points at the same places: one shared array (JSON.stringify writes it out for each
  // result) keeps memory flat on runs of 25,000 results.
  const locations: SarifLocation[] = input.locations.map((physicalLocation) => ({ physicalLocation }));
  const results: SarifResult[] = [];
  for (const rf of findings) {
    const index = ruleIndex.get(rf.finding.id);
    if (index === undefined) continue; // over the rules-per-run limit (see buildRules)
    results.push(buildResult(rf, index, ref, locations, urls));
  }

  const version = image.trivyVersion ?? input.trivyVersion;
  const digests = image.digest
    ? [`${image.target.registry}/${image.target.repository}@${image.digest}`]
    : undefined;
  return {
    tool: {
      driver: {
        name: SARIF_DRIVER_NAME,
        fullName: 'Trivy Vulnerability Scanner',
        ...(version ? { version } : {}),
        informationUri: TRIVY_INFORMATION_URI,
        rules,
      },
    },
    conversion: { tool: { driver: { name: 'image-scan-gate', version: input.toolVersion } } },
    automationDetails: { id: input.automationId },
    results,
    columnKind: 'utf16CodeUnits',
    properties: {
      imageName: ref,
      ...(digests ? { repoDigests: digests } : {}),
      ...(image.imageId ? { imageID: image.imageId } : {}),
    },
  };
}

/** A run for an image that could not be scanned: no results, and Trivy's error as a tool notification. */
export function buildFailedImageRun(
  image: ImageResult,
  automationId: string,
  trivyVersion: string | undefined,
  toolVersion: string,
): SarifRun {
  const run = buildImageRun({ image, automationId, findings: [], trivyVersion, toolVersion, locations: [] });
  run.invocations = [
    {
      executionSuccessful: false,
      toolExecutionNotifications: [
        {
          level: 'error',
          message: { text: `Scanning ${image.target.ref} failed: ${image.error ?? 'unknown error'}` },
          descriptor: { id: 'image-scan-failed' },
        },
      ],
    },
  ];
  return run;
}

const RULE_NAMES: Record<Finding['class'], string> = {
  'os-pkgs': 'OsPackageVulnerability',
  'lang-pkgs': 'LanguageSpecificPackageVulnerability',
  config: 'Misconfiguration',
  secret: 'Secret',
  license: 'License',
  unknown: 'UnknownIssue',
};

const KIND_TAGS: Record<Finding['class'], string> = {
  'os-pkgs': 'vulnerability',
  'lang-pkgs': 'vulnerability',
  unknown: 'vulnerability',
  config: 'misconfiguration',
  secret: 'secret',
  license: 'license',
};

const KIND_WORDS: Record<Finding['class'], string> = {
  'os-pkgs': 'Vulnerability',
  'lang-pkgs': 'Vulnerability',
  unknown: 'Vulnerability',
  config: 'Misconfiguration',
  secret: 'Secret',
  license: 'License',
};

interface RuleGroup {
  worst: Finding;
  findings: Finding[];
}

/**
 * One rule per finding id, sorted by id (stable ruleIndex). A rule describes its most severe finding; the help
 * table lists each package it was found in. Past the rules-per-run limit the least important rules are left out
 * (findings arrive most important first), and their results with them.
 */
function buildRules(findings: readonly RunFinding[], urls: UrlCache): SarifRule[] {
  const groups = new Map<string, RuleGroup>();
  for (const { finding } of findings) {
    const group = groups.get(finding.id);
    if (group) {
      group.findings.push(finding);
      if (
        SEVERITY_RANK[finding.severity] > SEVERITY_RANK[group.worst.severity] ||
        (finding.severity === group.worst.severity && cvssOf(finding) > cvssOf(group.worst))
      ) {
        group.worst = finding;
      }
    } else if (groups.size < MAX_RULES_PER_RUN) {
      groups.set(finding.id, { worst: finding, findings: [finding] });
    }
  }
  return [...groups.keys()].sort(compareText).map((id) => buildRule(groups.get(id)!, urls));
}

function buildRule({ worst, findings }: RuleGroup, urls: UrlCache): SarifRule {
  const id = worst.id;
  const url = urls.http(worst.url);
  const title = nonEmpty(worst.title) ?? id;
  const description = nonEmpty(worst.description) ?? title;
  const kind = KIND_WORDS[worst.class];
  const link = url ? `[${id}](${url})` : id;

  const rows = helpRows(findings);
  const more = rows.total > rows.shown.length ? rows.total - rows.shown.length : 0;
  const text =
    `${kind} ${id}\nSeverity: ${worst.severity}\n` +
    rows.shown
      .map(
        (f) =>
          `Package: ${packageLabel(f)}\nInstalled Version: ${f.installed ?? ''}\nFixed Version: ${f.fixed ?? ''}\n`,
      )
      .join('') +
    (more ? `... and ${more} more\n` : '') +
    `Link: ${link}`;
  // The description is in fullDescription and in the markdown (what GitHub shows); the plain-text help, a fallback
  // for viewers without markdown, leaves it out rather than carry a third copy in every run.
  const markdown =
    `**${kind} ${markdownCell(id)}**\n| Package | Installed | Fixed | Severity | Link |\n| --- | --- | --- | --- | --- |\n` +
    rows.shown
      .map(
        (f) =>
          `|${markdownCell(packageLabel(f))}|${markdownCell(f.installed ?? '')}|${markdownCell(f.fixed ?? '')}|` +
          `${f.severity}|${url ? `[${markdownCell(id)}](${url})` : markdownCell(id)}|\n`,
      )
      .join('') +
    (more ? `\n… and ${more} more.\n` : '') +
    `\n${markdownParagraphs(description)}`;

  return {
    id,
    name: RULE_NAMES[worst.class],
    shortDescription: { text: title },
    fullDescription: { text: description },
    defaultConfiguration: { level: sarifLevel(worst.severity) },
    ...(url ? { helpUri: url } : {}),
    help: { text, markdown },
    properties: {
      precision: 'very-high',
      'security-severity': securitySeverity(worst),
      tags: [KIND_TAGS[worst.class], 'security', worst.severity].slice(0, MAX_TAGS_PER_RULE),
    },
  };
}

/** Distinct package/version rows, worst first (findings arrive in priority order). */
function helpRows(findings: readonly Finding[]): { shown: Finding[]; total: number } {
  const seen = new Set<string>();
  const shown: Finding[] = [];
  for (const f of findings) {
    const key = `${packageLabel(f)}\u0000${f.installed ?? ''}\u0000${f.fixed ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (shown.length < MAX_HELP_ROWS) shown.push(f);
  }
  return { shown, total: seen.size };
}

/** The package, or for findings that have none (secrets, misconfigurations) the file Trivy found them in. */
function packageLabel(f: Finding): string {
  return f.pkg || f.target;
}

function buildResult(
  rf: RunFinding,
  ruleIndex: number,
  ref: string,
  locations: SarifLocation[],
  urls: UrlCache,
): SarifResult {
  const f = rf.finding;
  const result: SarifResult = {
    ruleId: f.id,
    ruleIndex,
    level: sarifLevel(f.severity),
    message: { text: resultMessage(f, rf.images?.join(', ') ?? ref, urls.http(f.url)) },
    locations,
    partialFingerprints: { [FINGERPRINT_KEY]: rf.fingerprint },
  };
  if (rf.suppression) result.suppressions = [suppressionOf(rf.suppression.reason)];
  return result;
}

function suppressionOf(reason: string | undefined): SarifSuppression {
  const justification = nonEmpty(reason);
  return { kind: 'external', status: 'accepted', ...(justification ? { justification } : {}) };
}

/** Trivy's result message, then which image (the run is per repository, the tag changes) and, for libraries, where. */
function resultMessage(f: Finding, ref: string, url: string | undefined): string {
  const link = url ? `\nLink: [${f.id}](${url})` : '';
  let text: string;
  switch (f.class) {
    case 'secret':
      text = `Secret ${f.id}\nSeverity: ${f.severity}\nTitle: ${f.title ?? ''}\nFile: ${f.target}`;
      break;
    case 'config':
      text =
        `Artifact: ${f.target}\nType: ${f.type ?? ''}\nVulnerability ${f.id}\nSeverity: ${f.severity}\n` +
        `Message: ${f.description ?? f.title ?? ''}${link}`;
      break;
    case 'license':
      text = `License ${f.id}\nSeverity: ${f.severity}\nPackage: ${f.pkg}\nFile: ${f.pkgPath ?? f.target}${link}`;
      break;
    default:
      text =
        `Package: ${f.pkg}\nInstalled Version: ${f.installed ?? ''}\nVulnerability ${f.id}\nSeverity: ${f.severity}\n` +
        `Fixed Version: ${f.fixed ?? ''}${link}`;
      if (f.class === 'lang-pkgs') text += `\nPath: ${f.pkgPath ?? f.target}`;
  }
  return `${text}\nImage: ${ref}`;
}

/**
 * Where an image's results point. Its references in the repository when discovery found them (the alert then shows
 * on the pull request line that names the image); otherwise, as Trivy does for images, its repository path
 * (`library/alpine`) at line 1, which is stable across tags.
 */
export function imageLocations(target: Target): { locations: PhysicalLocation[]; dropped: number } {
  const origins = uniqueOrigins(target.origins);
  if (origins.length === 0) {
    return { locations: [physicalLocation(encodeUriPath(target.repository), 1, 1)], dropped: 0 };
  }
  const kept = origins.slice(0, MAX_LOCATIONS_PER_RESULT);
  return {
    locations: kept.map((o) => physicalLocation(encodeUriPath(o.file), o.line, o.column ?? 1)),
    dropped: origins.length - kept.length,
  };
}

function uniqueOrigins(origins: readonly Origin[]): Origin[] {
  const byKey = new Map<string, Origin>();
  for (const o of origins) {
    const file = o.file.replace(/\\/g, '/').replace(/^\.\//, '');
    if (!file || !Number.isInteger(o.line) || o.line < 1) continue;
    const column =
      o.column !== undefined && Number.isInteger(o.column) && o.column >= 1 ? o.column : undefined;
    const origin: Origin = { file, line: o.line, ...(column !== undefined ? { column } : {}) };
    byKey.set(`${file}\u0000${o.line}\u0000${column ?? 1}`, origin);
  }
  return [...byKey.values()].sort(
    (a, b) => compareText(a.file, b.file) || a.line - b.line || (a.column ?? 1) - (b.column ?? 1),
  );
}

function physicalLocation(uri: string, line: number, column: number): PhysicalLocation {
  // A zero-width region at the reference, as Trivy writes it: GitHub highlights the whole line.
  return {
    artifactLocation: { uri, uriBaseId: 'ROOTPATH' },
    region: { startLine: line, startColumn: column, endLine: line, endColumn: column },
  };
}

/**
 * A repository-relative path as a relative URI reference: percent-encode what a URI cannot hold (spaces, non-ASCII,
 * `%`, `#`, `?`) and `:` (a colon in the first segment would read as a scheme). Slashes stay.
 */
export function encodeUriPath(path: string): string {
  return path
    .replace(/^\/+/, '')
    .split('/')
    .map((segment) =>
      encodeURI(segment).replace(/[#?:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/');
}

/** helpUri must be an absolute URI; Trivy's PrimaryURL nearly always is, but it is data, so it is checked (once). */
class UrlCache {
  private readonly seen = new Map<string, string | undefined>();

  http(value: string | undefined): string | undefined {
    if (!value) return undefined;
    if (this.seen.has(value)) return this.seen.get(value);
    let checked: string | undefined;
    try {
      const url = new URL(value);
      checked = url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
    } catch {
      checked = undefined;
    }
    this.seen.set(value, checked);
    return checked;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** A markdown table cell: pipes escaped, on one line. */
/** Untrusted text in a help table cell: escaped by the one markdown-text helper (no markup, mention or autolink). */
function markdownCell(value: string): string {
  return escapeText(value);
}

/** A description's paragraphs kept, each escaped like a cell. */
function markdownParagraphs(text: string): string {
  return text
    .split(/\r?\n\s*\r?\n/)
    .map(escapeText)
    .filter((p) => p.trim() !== '')
    .join('\n\n');
}

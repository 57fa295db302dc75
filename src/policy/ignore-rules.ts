import type { Finding, FindingClass } from '../model.js';
import { globMatcher } from './glob.js';
import { imageMatches, type ImageNames } from './image-match.js';

/**
 * One ignore, from the policy file (`ignore:`), `.trivyignore` or `.trivyignore.yaml`. Every scope that is set must
 * match for the ignore to apply; a scope left out matches everything.
 */
export interface IgnoreRule {
  /** CVE, GHSA, vendor or check ID. Absent only for `.trivyignore.yaml` entries that select by paths/purls. */
  id?: string;
  /** Package names (globs, e.g. `golang.org/x/net`) or PURLs (`pkg:deb/debian/libssl1.1`, version optional). */
  packages?: string[];
  /** Globs on Trivy's Result.Target or the package path (`.trivyignore.yaml` `paths`). */
  paths?: string[];
  /** Globs on the image reference (see image-match.ts). */
  images?: string[];
  /** Kinds of finding (`.trivyignore.yaml` sections: vulnerabilities, misconfigurations, secrets, licenses). */
  classes?: FindingClass[];
  reason?: string;
  /** YYYY-MM-DD. The ignore applies through the END of that day in UTC and is expired from the next day 00:00Z. */
  expires?: string;
  /** Where it was written: `policy.yml:12`, `.trivyignore:3`, `vex/app.json statements[0]`. */
  source: string;
  /** Other IDs of the same vulnerability (a VEX statement's aliases): the rule applies to any of them. */
  aliases?: string[];
  /** VEX products: at least one must cover the image and the finding's package (see vex.ts). */
  products?: VexProduct[];
  /** Set on rules read from a VEX document: the statement's status. */
  vex?: 'not_affected' | 'fixed';
}

/** The image a VEX product names; every part that is set must match. */
export interface VexImageSelector {
  /** `registry/repository`, normalised (docker.io/library/alpine). */
  repository?: string;
  /** The last path segment of the repository (a `pkg:oci` purl's name). */
  name?: string;
  tag?: string;
  /** sha256:…, the image's repo digest. */
  digest?: string;
}

/** One VEX product: an image (any, when absent) narrowed to packages (any, when absent); or nothing at all. */
export interface VexProduct {
  image?: VexImageSelector;
  /** Package purls (version and qualifiers matched only when given). */
  packages?: string[];
  /** A product the action cannot identify (an IRI, an unknown product id): it covers nothing. */
  unmatchable?: true;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** True for a real calendar date written as YYYY-MM-DD (2026-02-30 is not). */
export function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.toISOString().slice(0, 10) === text;
}

/**
 * An ignore that expires on 2026-01-31 still applies at 2026-01-31T23:59:59Z and stops at 2026-02-01T00:00:00Z:
 * "expires: D" reads as "good until D", in UTC so every runner agrees. (Trivy itself stops at the start of D.)
 */
export function isExpired(rule: Pick<IgnoreRule, 'expires'>, now: Date): boolean {
  if (!rule.expires) return false;
  const startOfDay = Date.parse(`${rule.expires}T00:00:00Z`);
  return now.getTime() >= startOfDay + DAY_MS;
}

/**
 * Canonical form of a finding or ignore ID, so the spellings Trivy has used compare equal: misconfiguration IDs
 * changed from `DS002` to `DS-0002` in v0.69 and were also written `AVD-DS-0002`. Case is ignored.
 */
export function canonicalId(id: string): string {
  const upper = id.trim().toUpperCase();
  const withoutAvd = upper.startsWith('AVD-') ? upper.slice(4) : upper;
  const check = /^([A-Z]+)-?(\d+)$/.exec(withoutAvd);
  if (!check) return upper;
  return `${check[1]}-${String(Number(check[2])).padStart(4, '0')}`;
}

/** Does this rule (ignoring its expiry) select this finding in this image? */
export function ignoreMatches(rule: IgnoreRule, image: ImageNames, finding: Finding): boolean {
  if (rule.id !== undefined && !idMatches(rule.id, finding, rule.aliases)) return false;
  if (rule.classes && !rule.classes.includes(finding.class)) return false;
  if (rule.packages && !rule.packages.some((p) => packageMatches(p, finding))) return false;
  if (rule.paths && !rule.paths.some((p) => pathMatches(p, finding))) return false;
  if (rule.images && !rule.images.some((p) => imageMatches(p, image))) return false;
  if (rule.products && !rule.products.some((p) => productMatches(p, image, finding))) return false;
  return true;
}

function idMatches(id: string, finding: Finding, aliases: readonly string[] = []): boolean {
  const wanted = new Set([id, ...aliases].map(canonicalId));
  return [finding.id, ...(finding.aliases ?? [])].some((candidate) => wanted.has(canonicalId(candidate)));
}

function productMatches(product: VexProduct, image: ImageNames, finding: Finding): boolean {
  if (product.unmatchable) return false;
  if (product.image && !imageSelectorMatches(product.image, image)) return false;
  if (
    product.packages &&
    !product.packages.some((p) => finding.purl !== undefined && purlMatches(p, finding.purl))
  )
    return false;
  return true;
}

function imageSelectorMatches(want: VexImageSelector, image: ImageNames): boolean {
  const have = image.identity;
  if (!have) return false;
  if (want.digest && !have.digests.includes(want.digest)) return false;
  if (want.repository && want.repository !== have.repository) return false;
  if (want.name && want.name !== have.repository.slice(have.repository.lastIndexOf('/') + 1)) return false;
  if (want.tag && !have.tags.includes(want.tag)) return false;
  return true;
}

function packageMatches(pattern: string, finding: Finding): boolean {
  if (pattern.startsWith('pkg:')) return finding.purl !== undefined && purlMatches(pattern, finding.purl);
  if (!finding.pkg) return false;
  const match = globMatcher(pattern);
  return match(finding.pkg) || (finding.pkgId !== undefined && match(finding.pkgId));
}

function pathMatches(pattern: string, finding: Finding): boolean {
  const match = globMatcher(pattern.replace(/^\/+/, ''));
  return [finding.target, finding.pkgPath]
    .filter((p): p is string => !!p)
    .some((p) => match(p.replace(/^\/+/, '')));
}

export interface Purl {
  type: string;
  namespace: string;
  name: string;
  version?: string;
  qualifiers: Map<string, string>;
}

export function parsePurl(text: string): Purl | undefined {
  if (!text.startsWith('pkg:')) return undefined;
  let rest = text.slice(4).replace(/^\/+/, '');
  rest = rest.split('#')[0];
  const [main, query = ''] = rest.split('?', 2);
  // The version follows the first '@' after the last '/' (a user may write an npm scope's '@' unencoded).
  const at = main.indexOf('@', main.lastIndexOf('/') + 1);
  const path = at >= 0 ? main.slice(0, at) : main;
  const version = at >= 0 ? decode(main.slice(at + 1)) : undefined;
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length < 2) return undefined;
  const type = parts[0].toLowerCase();
  const name = decode(parts[parts.length - 1]);
  const namespace = parts.slice(1, -1).map(decode).join('/');
  const qualifiers = new Map<string, string>();
  for (const kv of query.split('&')) {
    if (!kv) continue;
    const [k, v = ''] = kv.split('=', 2);
    qualifiers.set(k.toLowerCase(), decode(v));
  }
  return { type, namespace, name, version, qualifiers };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * As Trivy matches PURLs in `.trivyignore.yaml`: type, namespace and name must be equal; the version only when the
 * ignore gives one; qualifiers of the ignore must all be present on the package.
 */
export function purlMatches(pattern: string, actual: string): boolean {
  const want = parsePurl(pattern);
  const have = parsePurl(actual);
  if (!want || !have) return pattern === actual;
  if (want.type !== have.type || want.namespace !== have.namespace || want.name !== have.name) return false;
  if (want.version !== undefined && want.version !== have.version) return false;
  for (const [k, v] of want.qualifiers) if (have.qualifiers.get(k) !== v) return false;
  return true;
}

/** A short human label: `CVE-2023-1 (any ID) packages: openssl`. */
export function describeIgnore(rule: IgnoreRule): string {
  const scopes = [
    rule.packages && `packages ${rule.packages.join(', ')}`,
    rule.paths && `paths ${rule.paths.join(', ')}`,
    rule.images && `images ${rule.images.join(', ')}`,
  ].filter(Boolean);
  return `${rule.id ?? '(any ID)'}${scopes.length ? ` [${scopes.join('; ')}]` : ''}`;
}

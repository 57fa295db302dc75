import { findingKey } from '../findings/finding-identity.js';
import { scanErrorHeadline } from '../findings/scan-error.js';
import {
  isFixable,
  isVulnerability,
  SEVERITIES,
  SEVERITY_RANK,
  type AppliedIgnore,
  type ExpiredIgnore,
  type Finding,
  type ImageResult,
  type ImageRuleUse,
  type Verdict,
  type Violation,
} from '../model.js';
import { rulesFor, type EffectivePolicy, type GateRules } from './effective-policy.js';
import { describeIgnore, ignoreMatches, isExpired, type IgnoreRule } from './ignore-rules.js';
import {
  imageMatches,
  imageNames,
  matchesOnlyByShortName,
  suggestImagePattern,
  type ImageNames,
} from './image-match.js';
import type { ImageOverride } from './policy-file.js';

// The gate: a pure function of the scanned images, the effective policy, the ignores and the time. The same
// inputs in any order give the same verdict (images and findings are sorted first), so a `mode: report` job over
// merged results and a single run over the same images agree.
//
// Per image, in this order:
//   1. ignores: the first unexpired ignore whose ID (or alias; DS002 = DS-0002 = AVD-DS-0002), packages, paths
//      and images all match drops the finding (listed in `ignored`);
//   2. ignore-unfixed: a vulnerability with no fixed version (no non-empty entry in Trivy's comma list) is not
//      counted; secrets, misconfigurations and licenses have no fixed version and always count;
//   3. rules, on what is left: `fail-on` (one violation listing every finding at or above the severity),
//      `max` (counted per image and per severity; a violation when an image has MORE than the number),
//      `max-cvss` (findings whose highest CVSS score is at or above it; findings with no score never match).
// A failed image (status 'failed') is a `scan-error` violation, or a warning (result `warn`) with
// `scan-errors: warn`. An expired ignore no longer applies and is listed in `expiredIgnores`; it is an
// `expired-ignore` violation only with `expired-ignores: fail`, otherwise a warning that leaves the result alone.
// Against a baseline (findings/compare.ts): `new-findings-only` applies the rules of step 3 only to findings not
// in the baseline, and `max-new` counts those per image and severity. Without a baseline (`isNew` undefined: first
// run, cache miss) every finding counts, for both — the gate falls back to the full policy, never to a pass.
// Ignores that matched nothing are listed in `unusedIgnores`, `images[]` rules that applied to no image in
// `unusedImageRules`.

export interface PolicyVerdict extends Verdict {
  /** Problems the policy downgrades to warnings (scan-errors: warn, expired-ignores: warn). */
  warnings: Violation[];
  imageRules: ImageRuleUse[];
  policy: EffectivePolicy;
}

export type ImageVerdict = 'pass' | 'fail' | 'warn';

/** How many finding labels a violation message lists before "and N more" (the violation keeps them all). */
const MESSAGE_LIST_LIMIT = 10;

export function evaluatePolicy(
  images: readonly ImageResult[],
  policy: EffectivePolicy,
  ignores: readonly IgnoreRule[],
  now: Date,
  isNew?: (image: ImageResult, finding: Finding) => boolean,
): PolicyVerdict {
  const active = ignores.filter((r) => !isExpired(r, now));
  const expired = ignores.filter((r) => isExpired(r, now));
  const used = new Set<IgnoreRule>();
  const lapsedMatches = new Map<IgnoreRule, Set<string>>();
  const violations: Violation[] = [];
  const warnings: Violation[] = [];
  const ignored: AppliedIgnore[] = [];
  const scannedNames: ImageNames[] = [];
  const ruleUse = new Map<ImageOverride, { applied: number; shortOnly?: { name: string; ref: string } }>();

  for (const image of sortImages(images)) {
    const ref = image.target.ref;
    if (image.status === 'failed') {
      (policy.scanErrors === 'fail' ? violations : warnings).push(scanError(image, policy.scanErrors));
      continue;
    }
    const names = imageNames(image.target, image.digest);
    scannedNames.push(names);
    const override = policy.images.find((o) => imageMatches(o.match, names));
    if (override) {
      const use = ruleUse.get(override) ?? { applied: 0 };
      use.applied++;
      const short = matchesOnlyByShortName(override.match, names);
      if (short && !use.shortOnly) use.shortOnly = { name: short, ref: names.ref };
      ruleUse.set(override, use);
    }
    const rules = rulesFor(policy, override);
    const counted: Finding[] = [];
    const lapsedFor = new Map<string, IgnoreRule>();

    for (const finding of sortFindings(image.findings)) {
      const matching = active.filter((r) => ignoreMatches(r, names, finding));
      if (matching.length > 0) {
        for (const r of matching) used.add(r);
        const rule = matching[0];
        ignored.push({
          image: ref,
          findingId: finding.id,
          pkg: finding.pkg,
          rule: rule.source,
          ...(rule.reason !== undefined && { reason: rule.reason }),
          ...(rule.expires !== undefined && { expires: rule.expires }),
          ...(rule.vex !== undefined && { vex: rule.vex }),
        });
        continue;
      }
      if (rules.ignoreUnfixed && isVulnerability(finding) && !isFixable(finding)) continue;
      counted.push(finding);
      const lapsed = expired.find((r) => ignoreMatches(r, names, finding));
      if (lapsed) {
        lapsedFor.set(findingLabel(finding), lapsed);
        const set = lapsedMatches.get(lapsed) ?? new Set<string>();
        set.add(`${findingLabel(finding)} in ${ref}`);
        lapsedMatches.set(lapsed, set);
      }
    }

    const context: RuleContext = {
      ref,
      lapsedFor,
      overrideNote: override ? ` [rules of images matching "${override.match}" at ${override.source}]` : '',
    };
    const newOnes = isNew ? counted.filter((f) => isNew(image, f)) : counted;
    const newOnly = policy.newFindingsOnly && isNew !== undefined;
    violations.push(
      ...ruleViolations(newOnly ? newOnes : counted, rules, { ...context, newOnly }),
      ...maxNewViolations(newOnes, rules, { ...context, newOnly: true }, isNew !== undefined),
    );
  }

  const expiredIgnores: ExpiredIgnore[] = expired.map((r) => ({
    id: r.id ?? '*',
    expires: r.expires ?? '',
    source: r.source,
    ...(r.reason !== undefined && { reason: r.reason }),
  }));
  for (const r of expired) {
    const hits = [...(lapsedMatches.get(r) ?? [])];
    const matchedNote = hits.length ? `; it would have matched ${hits.join(', ')}, which now count` : '';
    const v: Violation = {
      rule: 'expired-ignore',
      findings: hits,
      threshold: `expired-ignores: ${policy.expiredIgnores}`,
      message:
        `ignore ${describeIgnore(r)} (${r.source}) expired on ${r.expires} and no longer applies${matchedNote}; ` +
        `fix the findings, or extend or remove the ignore (expired-ignores: ${policy.expiredIgnores})`,
    };
    (policy.expiredIgnores === 'fail' ? violations : warnings).push(v);
  }

  const unusedIgnores = active
    .filter((r) => !used.has(r))
    .map((r) => ({ id: r.id ?? '*', source: r.source, ...(r.vex !== undefined && { vex: r.vex }) }));

  // `gate: off` reports the policy's real outcome (as `enforce` would) and only the step does not fail; an
  // expired ignore under `expired-ignores: warn` is a warning in the log and summary but no verdict of its own (the
  // findings it would have hidden count like any other), while an image that was not checked (scan-errors: warn)
  // keeps the run at `warn`, never `pass`.
  let result: Verdict['result'] = 'pass';
  if (violations.length > 0) result = policy.gate === 'warn' ? 'warn' : 'fail';
  else if (warnings.some((w) => w.rule !== 'expired-ignore')) result = 'warn';

  const imageRules = policy.images.map((o) => imageRuleUse(o, ruleUse.get(o), policy.images, scannedNames));

  return { result, violations, warnings, ignored, expiredIgnores, unusedIgnores, imageRules, policy };
}

/**
 * How one `images[]` rule was used, said so a reader can fix it: applied to no image (and the spelling that would
 * match, or the earlier rule that takes its images first), or matched only by a short Docker Hub name.
 */
function imageRuleUse(
  rule: ImageOverride,
  use: { applied: number; shortOnly?: { name: string; ref: string } } | undefined,
  rules: readonly ImageOverride[],
  images: readonly ImageNames[],
): ImageRuleUse {
  const base = { match: rule.match, source: rule.source, applied: use?.applied ?? 0 };
  if (use?.shortOnly) {
    const { name, ref } = use.shortOnly;
    return { ...base, note: `matches by the short name ${name}; the image is reported as ${ref}` };
  }
  if (use) return base;
  const taken = images.find((i) => imageMatches(rule.match, i));
  if (taken) {
    const earlier = rules.find((o) => imageMatches(o.match, taken));
    return {
      ...base,
      note: `every image it matches (such as ${taken.ref}) takes the earlier rule "${earlier?.match}" at ${earlier?.source} first (first match wins)`,
    };
  }
  const suggestion = suggestImagePattern(rule.match, images);
  return {
    ...base,
    note: suggestion
      ? `matched no image; images are named like ${suggestion.example}: "${suggestion.pattern}" would match`
      : 'matched no image in this run',
  };
}

interface RuleContext {
  ref: string;
  /** Counted findings (by label) that an expired ignore would have dropped: the verdict says why they count. */
  lapsedFor: Map<string, IgnoreRule>;
  overrideNote: string;
  /** The findings are those not in the baseline: messages say "new". */
  newOnly?: boolean;
}

function ruleViolations(counted: Finding[], rules: GateRules, ctx: RuleContext): Violation[] {
  const out: Violation[] = [];
  if (rules.failOn !== 'NONE') {
    const threshold = rules.failOn;
    const hits = counted.filter((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[threshold]);
    if (hits.length > 0) {
      out.push(
        violation('fail-on', threshold, hits, ctx, (n) => {
          return `${n} at or above ${threshold} (fail-on: ${threshold.toLowerCase()})`;
        }),
      );
    }
  }
  for (const sev of SEVERITIES) {
    const limit = rules.max[sev];
    if (limit === undefined) continue;
    const hits = counted.filter((f) => f.severity === sev);
    if (hits.length > limit) {
      const name = `max-${sev.toLowerCase()}`;
      out.push(
        violation(name, `> ${limit}`, hits, ctx, (n) => {
          return `${n.replace(/finding/, `${sev} finding`)}, more than the ${limit} allowed (${name}: ${limit})`;
        }),
      );
    }
  }
  if (rules.maxCvss !== undefined) {
    const limit = rules.maxCvss;
    const hits = counted.filter((f) => f.cvss !== undefined && f.cvss.score >= limit);
    if (hits.length > 0) {
      const shown = limit.toFixed(1);
      out.push(
        violation(
          'max-cvss',
          `>= ${shown}`,
          hits,
          ctx,
          (n) => `${n} with a CVSS score at or above ${shown} (max-cvss: ${shown})`,
          (f) => `CVSS ${f.cvss?.score.toFixed(1)}`,
        ),
      );
    }
  }
  return out;
}

function maxNewViolations(
  newOnes: Finding[],
  rules: GateRules,
  ctx: RuleContext,
  hasBaseline: boolean,
): Violation[] {
  const out: Violation[] = [];
  const why = hasBaseline ? '' : '; there is no baseline, so every finding counts as new';
  for (const sev of SEVERITIES) {
    const limit = rules.maxNew[sev];
    if (limit === undefined) continue;
    const hits = newOnes.filter((f) => f.severity === sev);
    if (hits.length > limit) {
      const name = `max-new-${sev.toLowerCase()}`;
      out.push(
        violation(name, `> ${limit} new`, hits, ctx, (n) => {
          return `${n.replace(/finding/, `${sev} finding`)}, more than the ${limit} allowed (max-new: ${sev.toLowerCase()} ${limit}${why})`;
        }),
      );
    }
  }
  return out;
}

function violation(
  rule: string,
  threshold: string,
  hits: Finding[],
  ctx: RuleContext,
  summary: (nFindings: string) => string,
  detail?: (f: Finding) => string,
): Violation {
  const labels = uniqueLabels(hits, detail);
  const shown = labels.slice(0, MESSAGE_LIST_LIMIT).map((l) => l.text);
  const more = labels.length > MESSAGE_LIST_LIMIT ? `, and ${labels.length - MESSAGE_LIST_LIMIT} more` : '';
  const nFindings = `${hits.length} ${ctx.newOnly ? 'new ' : ''}finding${hits.length === 1 ? '' : 's'}`;
  const lapsed = labels
    .map((l) => ({ label: l.label, rule: ctx.lapsedFor.get(l.label) }))
    .filter((x): x is { label: string; rule: IgnoreRule } => x.rule !== undefined)
    .map((x) => `${x.label} was ignored by ${x.rule.source} until ${x.rule.expires}, which has passed`);
  const why = lapsed.length ? `. No longer ignored: ${lapsed.join('; ')}` : '';
  return {
    rule,
    image: ctx.ref,
    findings: labels.map((l) => l.label),
    threshold,
    message: `${ctx.ref}: ${summary(nFindings)}${ctx.overrideNote}: ${shown.join(', ')}${more}${why}`,
  };
}

/** `CVE-2023-1 (openssl)`; secrets and misconfigurations name Trivy's target instead of a package. */
function findingLabel(f: Finding): string {
  const where = f.pkg || f.target;
  return where ? `${f.id} (${where})` : f.id;
}

/** One entry per label (a package found at two paths is one line, `×2`), in the findings' sorted order. */
function uniqueLabels(hits: Finding[], detail?: (f: Finding) => string): { label: string; text: string }[] {
  const byLabel = new Map<string, { label: string; count: number; detail?: string }>();
  for (const f of hits) {
    const label = findingLabel(f);
    const entry = byLabel.get(label);
    if (entry) entry.count++;
    else byLabel.set(label, { label, count: 1, detail: detail?.(f) });
  }
  return [...byLabel.values()].map((e) => {
    let text = e.label;
    if (e.detail) text = text.endsWith(')') ? `${text.slice(0, -1)}, ${e.detail})` : `${text} (${e.detail})`;
    if (e.count > 1) text += ` ×${e.count}`;
    return { label: e.label, text };
  });
}

function scanError(image: ImageResult, mode: 'fail' | 'warn'): Violation {
  const error = scanErrorHeadline(image.error);
  const short = error.length > 300 ? `${error.slice(0, 297)}...` : error;
  const consequence =
    mode === 'fail'
      ? 'a failed scan fails the gate (scan-errors: fail; set scan-errors: warn in the policy file to only warn)'
      : 'reported as a warning (scan-errors: warn)';
  return {
    rule: 'scan-error',
    image: image.target.ref,
    findings: [],
    threshold: `scan-errors: ${mode}`,
    message: `${image.target.ref}: the scan failed: ${short.trim()}; ${consequence}`,
  };
}

function compare(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

function sortImages(images: readonly ImageResult[]): ImageResult[] {
  return [...images].sort(
    (a, b) =>
      compare(a.target.ref, b.target.ref) || compare(a.digest, b.digest) || compare(a.status, b.status),
  );
}

/** Worst first, then by ID and package, so violation lists read the same however the findings arrived. */
function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      compare(a.id, b.id) ||
      compare(a.pkg, b.pkg) ||
      compare(a.pkgPath, b.pkgPath) ||
      compare(a.installed, b.installed) ||
      compare(a.target, b.target),
  );
}

/**
 * For reporters (SARIF `suppressions`, the summary): the ignore that dropped a finding of an image, if any.
 * Keyed by image, finding ID and package.
 */
export function suppressionLookup(
  verdict: Verdict,
): (image: string, finding: Finding) => AppliedIgnore | undefined {
  const index = new Map<string, AppliedIgnore>();
  for (const a of verdict.ignored) {
    const key = findingKey(a.image, a.findingId, a.pkg);
    if (!index.has(key)) index.set(key, a);
  }
  return (image, finding) => index.get(findingKey(image, finding.id, finding.pkg));
}

/**
 * Each image's own verdict, in the order given: 'fail' (or 'warn' under `gate: warn`) when a violation names it,
 * 'warn' when only a warning does, else 'pass'. Under `gate: off` these are the policy's real outcomes, as the
 * run's result is; only the step does not fail.
 */
export function imageVerdicts(
  verdict: Verdict & { warnings?: Violation[] },
  images: readonly ImageResult[],
): { ref: string; result: ImageVerdict }[] {
  const violationLevel: ImageVerdict = verdict.result === 'pass' ? 'pass' : verdict.result;
  const violated = new Set(
    verdict.violations.map((v) => v.image).filter((i): i is string => i !== undefined),
  );
  const warned = new Set(
    (verdict.warnings ?? []).map((v) => v.image).filter((i): i is string => i !== undefined),
  );
  return images.map((image) => {
    const ref = image.target.ref;
    let result: ImageVerdict = 'pass';
    if (violated.has(ref)) result = violationLevel;
    else if (warned.has(ref) && verdict.result !== 'pass') result = 'warn';
    return { ref, result };
  });
}

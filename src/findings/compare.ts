import { compareText } from '../infra/text-order.js';
import {
  SEVERITY_RANK,
  type DeltaFinding,
  type Finding,
  type ImageDelta,
  type ImageResult,
  type ResultsDelta,
} from '../model.js';
import { findingFingerprint } from './finding-identity.js';

// The baseline delta: the base branch's last results × this run's results → per image, the findings that are new,
// fixed or unchanged. Pure.
//
// "The same image" is what a reviewer means by it: the repository (registry + repository), never the tag or digest,
// so a pull request that bumps `FROM node:20.11` to `node:20.12` compares the two. When one side holds several
// images of one repository (node:18 in one Dockerfile, node:20 in another), they pair by exact ref first, then by
// the repository file that references them; what is still ambiguous is reported as added / removed rather than
// guessed. A finding is the same finding when its SARIF fingerprint is (findingFingerprint: kind, ID, package and,
// for libraries, where it lives) — one identity, so the Security tab and the delta agree.
//
// Images that failed or were skipped on either side are not compared: a failed current image is the gate's
// scan-error, and a failed baseline image is no baseline for it (its current findings count as new).

export function compareResults(
  baseline: readonly ImageResult[],
  current: readonly ImageResult[],
): ImageDelta[] {
  const comparable = (i: ImageResult) => i.status === 'scanned' || i.status === 'reused';
  const before = groupByRepository(baseline.filter(comparable));
  const after = groupByRepository(current.filter(comparable));
  const deltas: ImageDelta[] = [];
  for (const key of new Set([...after.keys(), ...before.keys()])) {
    const { pairs, added, removed } = pairImages(after.get(key) ?? [], before.get(key) ?? []);
    for (const [now, then] of pairs) deltas.push(compareImage(now, then));
    for (const image of added) {
      deltas.push({
        ref: image.target.ref,
        change: 'added',
        new: uniqueFindings(image).map(deltaFinding),
        fixed: [],
        unchanged: 0,
      });
    }
    for (const image of removed) {
      deltas.push({
        ref: image.target.ref,
        change: 'removed',
        new: [],
        fixed: uniqueFindings(image).map(deltaFinding),
        unchanged: 0,
      });
    }
  }
  return deltas.sort((a, b) => compareText(a.ref, b.ref) || compareText(a.change, b.change));
}

/**
 * For the gate: whether a finding of a current image is new against the baseline, or undefined when there is no
 * baseline (the gate then applies the full policy). An image the baseline does not have is new with all its findings.
 */
export function newFindingTest(
  delta: ResultsDelta | undefined,
): ((image: ImageResult, finding: Finding) => boolean) | undefined {
  if (!delta?.baseline) return undefined;
  const newByRef = new Map<string, Set<string> | 'all'>();
  for (const d of delta.images) {
    if (d.change === 'added') newByRef.set(d.ref, 'all');
    else if (d.change === 'compared') newByRef.set(d.ref, new Set(d.new.map((f) => identity(f))));
  }
  return (image, finding) => {
    const known = newByRef.get(image.target.ref);
    if (known === undefined || known === 'all') return true;
    return known.has(identity(finding));
  };
}

/** The repository an image belongs to, whatever its tag or digest. */
function repositoryKey(image: ImageResult): string {
  return `${image.target.registry}/${image.target.repository}`;
}

function groupByRepository(images: readonly ImageResult[]): Map<string, ImageResult[]> {
  const groups = new Map<string, ImageResult[]>();
  for (const image of [...images].sort((a, b) => compareText(a.target.ref, b.target.ref))) {
    const key = repositoryKey(image);
    groups.set(key, [...(groups.get(key) ?? []), image]);
  }
  return groups;
}

function pairImages(
  current: ImageResult[],
  baseline: ImageResult[],
): { pairs: [ImageResult, ImageResult][]; added: ImageResult[]; removed: ImageResult[] } {
  const pairs: [ImageResult, ImageResult][] = [];
  let now = [...current];
  let then = [...baseline];
  const take = (matches: (a: ImageResult, b: ImageResult) => boolean) => {
    for (const a of [...now]) {
      const b = then.find((candidate) => matches(a, candidate));
      if (!b) continue;
      pairs.push([a, b]);
      now = now.filter((x) => x !== a);
      then = then.filter((x) => x !== b);
    }
  };
  take((a, b) => a.target.ref === b.target.ref);
  take((a, b) => sharesOriginFile(a, b));
  if (now.length === 1 && then.length === 1) take(() => true);
  return { pairs, added: now, removed: then };
}

function sharesOriginFile(a: ImageResult, b: ImageResult): boolean {
  const files = new Set(a.target.origins.map((o) => o.file));
  return b.target.origins.some((o) => files.has(o.file));
}

function compareImage(current: ImageResult, baseline: ImageResult): ImageDelta {
  const before = new Map(uniqueFindings(baseline).map((f) => [identity(f), f]));
  const after = uniqueFindings(current);
  const afterIds = new Set(after.map((f) => identity(f)));
  return {
    ref: current.target.ref,
    baselineRef: baseline.target.ref,
    change: 'compared',
    new: after.filter((f) => !before.has(identity(f))).map(deltaFinding),
    fixed: [...before.entries()].filter(([id]) => !afterIds.has(id)).map(([, f]) => deltaFinding(f)),
    unchanged: after.filter((f) => before.has(identity(f))).length,
  };
}

/**
 * The identity within one repository: the SARIF fingerprint, with the repository left out because both sides of a
 * comparison belong to the same one.
 */
function identity(f: DeltaFinding): string {
  return findingFingerprint({ registry: '', repository: '' }, f);
}

/** One finding per identity (the same library in two layers is one finding), worst first. */
function uniqueFindings(image: ImageResult): Finding[] {
  const seen = new Map<string, Finding>();
  for (const f of image.findings) {
    const id = identity(f);
    if (!seen.has(id)) seen.set(id, f);
  }
  return [...seen.values()].sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      compareText(a.id, b.id) ||
      compareText(a.pkg, b.pkg),
  );
}

function deltaFinding(f: Finding): DeltaFinding {
  return {
    id: f.id,
    pkg: f.pkg,
    severity: f.severity,
    class: f.class,
    target: f.target,
    ...(f.pkgPath !== undefined && { pkgPath: f.pkgPath }),
    ...(f.installed !== undefined && { installed: f.installed }),
    ...(f.fixed !== undefined && { fixed: f.fixed }),
    ...(f.title !== undefined && { title: f.title }),
    ...(f.url !== undefined && { url: f.url }),
  };
}

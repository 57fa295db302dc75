import type { ImageResult, PlannedShard, ResultsFile, Target } from '../model.js';
import { plural } from '../infra/wording.js';
import { formatRef, tryParseImageReference } from '../targets/reference.js';
import type { Plan } from './plan.js';

// The fan-in check of `mode: report` (rule 9, "nothing lost"): did every shard of every plan send its results, and
// does every image a shard was given appear in them? Pure.
//
// A shard job records its plan, its shard number and the images it was given (results file `plan`). From those the
// report job knows, per plan, how many shards there were and which came back; the `plan` input adds what each
// shard was given, so even a shard that sent nothing has its images named. A planned image that no results file
// accounts for becomes a failed image ("shard 3/8 of plan … sent no results"): the policy's scan-error rule then
// fails the gate (or warns with `scan-errors: warn`) and every view shows it, through the one verdict path. A
// shard whose images are unknown (no `plan` input) becomes one failed entry named after the shard. An image found
// in any results file counts, whichever shard sent it (a re-run job, a file without a plan record); extra images
// are simply reported.

export interface ReadResults {
  path: string;
  results: ResultsFile;
}

export interface FanInCheck {
  /** Failed results for what is missing, to merge with the rest. */
  missing: ImageResult[];
  /** One line per gap (a shard, a file) and for results of several plans: for the log and the summary. */
  problems: string[];
}

/** How many image names a problem line lists before "and N more". */
const NAMES_LISTED = 5;

export function checkFanIn(files: readonly ReadResults[], plan?: Plan): FanInCheck {
  const plans = recordedPlans(files, plan);
  const present = presentImages(files);
  const missing: ImageResult[] = [];
  const problems: string[] = [];

  if (plans.size > 1) {
    const described = [...plans.values()].map(
      (p) =>
        `${p.id} (${p.received.size} of ${p.shards} shards` +
        `${plan?.id === p.id ? ', the plan given in `plan`' : ''})`,
    );
    problems.push(
      `reports: the results come from ${plans.size} different plans: ${described.join(', ')}. Each plan is ` +
        'checked for missing shards; if only one was meant, results of another run were mixed in — download ' +
        "only this run's artifacts.",
    );
  }

  for (const p of plans.values()) {
    const given = plan?.id === p.id ? plan : undefined;
    for (let shard = 1; shard <= p.shards; shard++) {
      const name = `shard ${shard}/${p.shards} of plan ${p.id}`;
      const received = p.received.get(shard);
      const planned = [
        ...new Set([...(given?.shards[shard - 1]?.images ?? []), ...(received?.images ?? [])]),
      ];
      const absent = planned.filter((image) => !present.has(identity(image)));
      if (!received && planned.length === 0) {
        missing.push(
          failed(
            { ref: name, input: name, registry: '', repository: name, origins: [], sources: ['listed'] },
            `${name} sent no results, and which images it was given is not known here: pass the discover job's ` +
              "`plan` output to the report job's `plan` input to name them",
          ),
        );
        problems.push(`${name} sent no results (its images are unknown without the \`plan\` input).`);
        continue;
      }
      if (absent.length === 0) continue;
      const why = received
        ? `missing from the results of ${name} (${received.paths.join(', ')})`
        : `${name} sent no results (its job failed, or its results were not downloaded)`;
      missing.push(...absent.map((image) => failed(plannedTarget(image), why)));
      problems.push(
        `${received ? `${name}: ${plural(absent.length, 'planned image')} missing from its results` : `${name} sent no results`}: ` +
          `${listed(absent)}; reported as failed scans.`,
      );
    }
  }
  return { missing, problems };
}

interface RecordedPlan {
  id: string;
  shards: number;
  received: Map<number, { paths: string[]; images: string[] }>;
}

/** Plans by id, from the shard records of the files and the `plan` input (which knows a plan no file names). */
function recordedPlans(files: readonly ReadResults[], plan: Plan | undefined): Map<string, RecordedPlan> {
  const plans = new Map<string, RecordedPlan>();
  if (plan) plans.set(plan.id, { id: plan.id, shards: plan.shards.length, received: new Map() });
  const records = files.filter(
    (f): f is ReadResults & { results: { plan: PlannedShard } } => f.results.plan !== undefined,
  );
  for (const { path, results } of records) {
    const { id, shard, shards, images } = results.plan;
    let p = plans.get(id);
    if (!p) {
      p = { id, shards, received: new Map() };
      plans.set(id, p);
    } else if (plan?.id !== id) {
      // The id is a hash of the whole plan, shard count included: files of one plan cannot disagree honestly.
      p.shards = Math.max(p.shards, shards);
    }
    const seen = p.received.get(shard) ?? { paths: [], images: [] };
    seen.paths = [...seen.paths, path].sort();
    seen.images.push(...images);
    p.received.set(shard, seen);
  }
  // Code-point order of ids: the same problems in the same order whatever order the files came in.
  return new Map([...plans.keys()].sort().map((id) => [id, plans.get(id)!]));
}

/** Every identity (repository + digest, repository:tag) of every image any file holds, whatever its status. */
function presentImages(files: readonly ReadResults[]): Set<string> {
  const present = new Set<string>();
  for (const { results } of files) {
    for (const image of results.images) {
      const t = image.target;
      present.add(t.ref);
      if (!t.registry || !t.repository) continue;
      const repository = `${t.registry}/${t.repository}`;
      for (const digest of [image.digest, t.digest]) if (digest) present.add(`${repository}@${digest}`);
      for (const tag of [t.tag, ...(t.tags ?? [])]) if (tag) present.add(`${repository}:${tag}`);
    }
  }
  return present;
}

/** What a planned line must match: the digest it was pinned to, else the tag it names. */
function identity(planned: string): string {
  const parsed = tryParseImageReference(planned);
  if (!parsed.ok) return planned;
  const { registry, repository, tag, digest } = parsed.value;
  return digest ? formatRef(registry, repository, undefined, digest) : formatRef(registry, repository, tag);
}

/** A planned image as its shard would have reported it: named by its tag, pinned digest kept. */
function plannedTarget(planned: string): Target {
  const parsed = tryParseImageReference(planned);
  if (!parsed.ok) {
    return {
      ref: planned,
      input: planned,
      registry: '',
      repository: planned,
      origins: [],
      sources: ['listed'],
    };
  }
  const { registry, repository, tag, digest } = parsed.value;
  return {
    ref: tag ? formatRef(registry, repository, tag) : parsed.value.ref,
    input: planned,
    registry,
    repository,
    ...(tag !== undefined && { tag }),
    ...(digest !== undefined && { digest }),
    origins: [],
    sources: ['listed'],
  };
}

function failed(target: Target, error: string): ImageResult {
  return {
    target,
    ...(target.digest !== undefined && { digest: target.digest }),
    status: 'failed',
    error,
    findings: [],
  };
}

function listed(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_LISTED).join(', ');
  return names.length > NAMES_LISTED ? `${shown} and ${names.length - NAMES_LISTED} more` : shown;
}

import type { ImageResult, SkippedTarget } from '../model.js';
import { categoryId, SARIF_DRIVER_NAME, type SarifOptions } from '../report/sarif.js';
import { tryParseImageReference } from '../targets/reference.js';
import { httpStatusOf, gitHubMessageOf, type GitHubClient } from './github-client.js';
import type { GitHubRunContext } from './github-context.js';

// `prune-categories`: the code scanning categories this action wrote on this ref for images it no longer scans
// (a repository deleted from the registry, a Dockerfile that no longer names it). GitHub keeps a category's latest
// analysis until another replaces it, so their alerts would stay open forever; an empty run in each closes them.
// Deciding what is stale is pure; finding what exists is one paginated, bounded listing of recent analyses.

/** Analyses listed, newest first, at most: 20 pages of 100. Categories last analysed before them are not pruned. */
const MAX_PAGES = 20;
const PER_PAGE = 100;

export interface PruneSituation {
  github: GitHubRunContext;
  /** Why the images of this run may be incomplete (missing shards, a shard job); empty when complete. */
  partialReasons: readonly string[];
}

/** Why pruning must not run now, or undefined when it may. */
export function pruneBlocker(situation: PruneSituation): string | undefined {
  const { github } = situation;
  if (github.pullRequest || github.eventName.startsWith('pull_request')) {
    return 'not on pull requests (a pull request scans what it changes, not everything the branch holds)';
  }
  if (github.readOnlyToken) return 'the token is read-only';
  if (situation.partialReasons.length > 0) {
    return `this run may not hold every image (${situation.partialReasons.join('; ')})`;
  }
  return undefined;
}

export interface CurrentCategories {
  categories: Set<string>;
  /** Skipped references that could not be read: their categories are unknown, so nothing may be pruned. */
  unreadable: string[];
}

/**
 * Categories of everything this run knows about: scanned, reused and failed images (a failed scan keeps its
 * category and alerts) and the ones skipped by a cap (`max-images`), which are still there, just not scanned now.
 */
export function currentCategories(
  images: readonly ImageResult[],
  skipped: readonly SkippedTarget[],
  opts: Pick<SarifOptions, 'category' | 'exactCategory'>,
): CurrentCategories {
  const categories = new Set(images.map((i) => withoutSlash(categoryId(i.target, opts))));
  const unreadable: string[] = [];
  for (const s of skipped) {
    const parsed = tryParseImageReference(s.ref);
    if (parsed.ok) categories.add(withoutSlash(categoryId(parsed.value, opts)));
    else unreadable.push(s.ref);
  }
  return { categories, unreadable };
}

/** Previous categories under this action's prefix that no current image has, sorted. */
export function staleCategories(
  previous: Iterable<string>,
  current: ReadonlySet<string>,
  opts: Pick<SarifOptions, 'category'>,
): string[] {
  // `<prefix>/`, as categoryId writes it.
  const prefix = categoryId(
    { registry: '', repository: '' },
    { category: opts.category, exactCategory: true },
  );
  const stale = new Set<string>();
  for (const raw of previous) {
    const category = withoutSlash(raw);
    // Only this action's shape: `<prefix>/<registry>/<repository>` (a registry, then at least one path part).
    if (!category.startsWith(prefix) || category.slice(prefix.length).split('/').length < 2) continue;
    if (!current.has(category)) stale.add(category);
  }
  return [...stale].sort();
}

interface ListedCategories {
  categories: Set<string>;
  /** Set when the listing failed: nothing is pruned, and this says why. */
  error?: string;
}

/** The categories of this tool's recent analyses on this ref (GET /repos/{owner}/{repo}/code-scanning/analyses). */
async function listAnalysedCategories(
  octokit: GitHubClient,
  github: GitHubRunContext,
): Promise<ListedCategories> {
  const { owner, repo } = github.repository;
  const categories = new Set<string>();
  try {
    for (let page = 1; page <= MAX_PAGES; page++) {
      const { data } = await octokit.rest.codeScanning.listRecentAnalyses({
        owner,
        repo,
        ref: github.ref,
        tool_name: SARIF_DRIVER_NAME,
        per_page: PER_PAGE,
        page,
      });
      for (const analysis of data) {
        // The filters are GitHub's; checked again so a reply with other analyses cannot close their alerts.
        if (analysis.ref !== github.ref || analysis.tool.name !== SARIF_DRIVER_NAME) continue;
        if (typeof analysis.category === 'string' && analysis.category) categories.add(analysis.category);
      }
      if (data.length < PER_PAGE) break;
    }
  } catch (error) {
    const status = httpStatusOf(error);
    // GitHub answers 404 "no analysis found" for a ref without analyses: nothing to prune.
    if (status === 404 && categories.size === 0) return { categories };
    return {
      categories,
      error: `listing code scanning analyses failed: ${status ? `GitHub answered ${status} (${gitHubMessageOf(error)})` : gitHubMessageOf(error)}`,
    };
  }
  return { categories };
}

/** What to close, or why nothing is closed; every outcome is one line for the log and the summary. */
export interface PrunePlan {
  categories: string[];
  skipped?: string;
}

export async function planCategoryPrune(
  input: {
    situation: PruneSituation;
    images: readonly ImageResult[];
    skipped: readonly SkippedTarget[];
    sarif: Pick<SarifOptions, 'category' | 'exactCategory'>;
  },
  octokit: GitHubClient,
): Promise<PrunePlan> {
  const blocker = pruneBlocker(input.situation);
  if (blocker) return { categories: [], skipped: blocker };
  const current = currentCategories(input.images, input.skipped, input.sarif);
  if (current.unreadable.length > 0) {
    return {
      categories: [],
      skipped: `${current.unreadable.length} skipped image reference(s) could not be read, so their categories are unknown`,
    };
  }
  const listed = await listAnalysedCategories(octokit, input.situation.github);
  if (listed.error) return { categories: [], skipped: listed.error };
  return { categories: staleCategories(listed.categories, current.categories, input.sarif) };
}

function withoutSlash(category: string): string {
  return category.replace(/\/+$/, '');
}

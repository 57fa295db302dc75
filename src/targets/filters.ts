import { compileNamePattern, type NameMatcher } from './name-pattern.js';

// Include/exclude filters for registry discovery (pure). Repositories: globs where `**` crosses `/` and `*` does
// not. Tags: globs, or a regular expression written `/.../` (flags after the last slash: `/^v\d+$/i`). Every
// pattern runs on RE2 (./name-pattern.ts). An empty include list includes everything; an exclude always wins.

function compileList(entries: readonly string[], input: string): NameMatcher[] {
  return entries
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => compileNamePattern(e, input));
}

/** Include/exclude matcher over names; `inputs` name the action inputs for error messages. */
function compileNameFilter(
  include: readonly string[],
  exclude: readonly string[],
  inputs: { include: string; exclude: string },
): NameMatcher {
  const inc = compileList(include, inputs.include);
  const exc = compileList(exclude, inputs.exclude);
  return (name) => (inc.length === 0 || inc.some((m) => m(name))) && !exc.some((m) => m(name));
}

/**
 * Repository filter. Under a namespace (`ghcr.io/acme`), a pattern may be written relative to it (`api-*`) or as
 * the full name (`acme/api-*`): a repository matches when either form does.
 */
export function compileRepositoryFilter(
  include: readonly string[],
  exclude: readonly string[],
  namespace?: string,
): NameMatcher {
  const inc = compileList(include, 'repositories');
  const exc = compileList(exclude, 'exclude-repositories');
  const prefix = namespace ? `${namespace.replace(/\/+$/, '')}/` : undefined;
  const forms = (repo: string) =>
    prefix && repo.startsWith(prefix) ? [repo, repo.slice(prefix.length)] : [repo];
  return (repo) => {
    const names = forms(repo);
    const any = (ms: NameMatcher[]) => ms.some((m) => names.some((n) => m(n)));
    return (inc.length === 0 || any(inc)) && !any(exc);
  };
}

export function compileTagFilter(include: readonly string[], exclude: readonly string[]): NameMatcher {
  return compileNameFilter(include, exclude, { include: 'tags', exclude: 'exclude-tags' });
}

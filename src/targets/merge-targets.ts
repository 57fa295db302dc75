import type { Origin, Target, TargetSource } from '../model.js';

// One Target per image however it was found (listed, discovered in a registry, referenced in files). Pure.

/**
 * Merges target lists by normalised ref, keeping the order in which refs were first seen. The first occurrence's
 * fields win (the listed entry, as the user wrote it, before a discovered or file one); origins, sources and
 * tags are unions without duplicates, and fields the first lacked (digest, createdAt, platform) are filled in.
 * The same ref for two different platforms (Dockerfile `FROM --platform=…` lines) stays two targets: each is
 * scanned for its own platform.
 */
export function mergeTargets(...lists: readonly (readonly Target[])[]): Target[] {
  const merged: Target[] = [];
  const byRef = new Map<string, Target[]>();
  for (const list of lists) {
    for (const target of list) {
      const key = mergeKey(target);
      const sameRef = byRef.get(key) ?? [];
      const seen = sameRef.find((t) => !t.platform || !target.platform || t.platform === target.platform);
      if (!seen) {
        const copy = copyTarget(target);
        merged.push(copy);
        byRef.set(key, [...sameRef, copy]);
        continue;
      }
      mergeOrigins(seen.origins, target.origins);
      for (const source of target.sources) addSource(seen.sources, source);
      if (target.tags?.length) seen.tags = [...new Set([...(seen.tags ?? []), ...target.tags])];
      seen.digest ??= target.digest;
      seen.createdAt ??= target.createdAt;
      seen.platform ??= target.platform;
    }
  }
  return merged;
}

/** A local image (daemon, archive) is not the registry image of the same name, nor another archive naming it. */
function mergeKey(t: Target): string {
  if (t.local?.kind === 'archive') return `${t.local.format}:${t.local.path}\u0000${t.ref}`;
  if (t.local?.kind === 'daemon') return `${t.local.daemon}:\u0000${t.ref}`;
  return t.ref;
}

function copyTarget(t: Target): Target {
  const origins: Origin[] = [];
  mergeOrigins(origins, t.origins);
  const sources: TargetSource[] = [];
  for (const s of t.sources) addSource(sources, s);
  return { ...t, origins, sources, ...(t.tags ? { tags: [...new Set(t.tags)] } : {}) };
}

/** Adds to `into` (and returns it) each origin of `more` at a file position it does not have yet. */
export function mergeOrigins(into: Origin[], more: readonly Origin[]): Origin[] {
  const seen = new Set(into.map(originKey));
  for (const o of more) {
    const key = originKey(o);
    if (seen.has(key)) continue;
    seen.add(key);
    into.push({ ...o });
  }
  return into;
}

function originKey(o: Origin): string {
  return `${o.file}\u0000${o.line}\u0000${o.column ?? ''}`;
}

function addSource(into: TargetSource[], source: TargetSource): void {
  if (!into.includes(source)) into.push(source);
}

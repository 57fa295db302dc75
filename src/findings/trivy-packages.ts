import type { InstalledPackage } from '../model.js';

// Trivy's `Results[].Packages` (present with --list-all-pkgs) -> the image's packages, for SBOMs. Like the findings
// parser, anything that is not the expected shape is skipped rather than trusted. Pure.

/** An image with more packages than this is a report gone wrong; the SBOM says what it has and the log says so. */
const MAX_PACKAGES_PER_IMAGE = 100_000;

type Json = Record<string, unknown>;

export function parseTrivyPackages(raw: unknown): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  const seen = new Set<string>();
  if (!isObject(raw) || !Array.isArray(raw.Results)) return out;
  for (const result of raw.Results as unknown[]) {
    if (!isObject(result) || !Array.isArray(result.Packages)) continue;
    const target = str(result.Target) ?? '';
    const type = str(result.Type);
    for (const p of result.Packages as unknown[]) {
      if (out.length >= MAX_PACKAGES_PER_IMAGE) return out;
      if (!isObject(p)) continue;
      const name = str(p.Name);
      if (!name) continue;
      const identifier = isObject(p.Identifier) ? p.Identifier : {};
      const version = str(p.Version);
      const release = str(p.Release);
      const pkg: InstalledPackage = {
        name,
        ...(version !== undefined && { version: release ? `${version}-${release}` : version }),
        ...optional('purl', str(identifier.PURL)),
        ...optional('type', type),
        target,
        ...optional('pkgPath', str(p.FilePath)),
      };
      // One entry per package and place: Trivy may list a package once per layer that touches it.
      const key = `${pkg.purl ?? `${pkg.name}@${pkg.version ?? ''}`}\u0000${target}\u0000${pkg.pkgPath ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(pkg);
    }
  }
  return out;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

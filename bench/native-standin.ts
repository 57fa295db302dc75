import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// A minimal native Trivy for benchmarks, so that a figure measures the action and not the Node stand-in's own
// start-up (~100 ms of CPU per scan). A bash script that answers what the action checks and nothing more:
// `--version --format json` (with the DB's metadata), `image --download-db-only` / `--download-java-db-only`
// (writes `metadata.json`), and a scan, which sleeps the delay and copies the report prepared for that reference
// (ArtifactName and RepoDigests of the real image). Each scan appends its start and end ($EPOCHREALTIME, a bash
// builtin: no extra process) to a log, for the scan-phase figure. Only for benches: it checks no flag.

export interface NativeStandin {
  /** The executable, for `trivyPath` / `trivy-path`. */
  path: string;
  /** Reads the scan log: one entry per finished scan (epoch ms), with the reference as the last argument gave it. */
  scans(): { ref: string; start: number; end: number }[];
}

export interface PreparedImage {
  /** The reference exactly as the action passes it to Trivy (the last argument). */
  ref: string;
  /** `name` of RepoDigests and Reference: `host/repository`. */
  name: string;
  digest: string;
  /** Trivy `Results` to put into the report (default none: a clean image). */
  results?: unknown[];
}

export function prepareNativeStandin(
  dir: string,
  images: readonly PreparedImage[],
  delayMs: number,
): NativeStandin {
  const reports = path.join(dir, 'reports');
  mkdirSync(reports, { recursive: true });
  for (const image of images) {
    const report = {
      SchemaVersion: 2,
      Trivy: { Version: '0.74.0' },
      ArtifactName: image.ref,
      ArtifactType: 'container_image',
      Metadata: {
        OS: { Family: 'alpine', Name: '3.19.1' },
        ImageID: `sha256:${'0'.repeat(64)}`,
        RepoDigests: [`${image.name}@${image.digest}`],
        Reference: image.ref,
      },
      Results: image.results ?? [],
    };
    writeFileSync(path.join(reports, `${reportKey(image.ref)}.json`), JSON.stringify(report));
  }
  const now = new Date();
  const metadata = JSON.stringify({
    Version: 2,
    NextUpdate: new Date(now.getTime() + 24 * 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    UpdatedAt: new Date(now.getTime() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    DownloadedAt: now.toISOString(),
  });
  writeFileSync(path.join(dir, 'metadata.json'), metadata);
  const log = path.join(dir, 'scans.log');
  writeFileSync(log, '');
  const script = path.join(dir, 'trivy');
  writeFileSync(
    script,
    `#!/bin/bash
# Native Trivy stand-in for benchmarks (bench/native-standin.ts).
cache= out= ref= mode=scan prev=
for arg in "$@"; do
  case "$prev" in
    --cache-dir) cache=$arg ;;
    --output) out=$arg ;;
  esac
  case "$arg" in
    --version) mode=version ;;
    --download-db-only) mode=db ;;
    --download-java-db-only) mode=java-db ;;
  esac
  prev=$arg ref=$arg
done
case "$mode" in
  version)
    if [ -n "$cache" ] && [ -f "$cache/db/metadata.json" ]; then
      printf '{"Version":"0.74.0","VulnerabilityDB":%s}\\n' "$(<"$cache/db/metadata.json")"
    else
      printf '{"Version":"0.74.0"}\\n'
    fi ;;
  db|java-db)
    /bin/mkdir -p "$cache/$mode" && /bin/cp ${quote(path.join(dir, 'metadata.json'))} "$cache/$mode/metadata.json" ;;
  scan)
    start=$EPOCHREALTIME
    /bin/sleep ${(delayMs / 1000).toFixed(3)}
    key=\${ref//[\\/:@]/_}
    /bin/cp ${quote(reports)}/"$key".json "$out" || exit 1
    echo "$start $EPOCHREALTIME $ref" >> ${quote(log)} ;;
esac
`,
  );
  chmodSync(script, 0o755);
  return {
    path: script,
    scans: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [start, end, ref] = line.split(' ');
          return { ref, start: Number(start) * 1000, end: Number(end) * 1000 };
        }),
  };
}

/** The report's file name for a reference, as the script computes it (`/`, `:` and `@` become `_`). */
function reportKey(ref: string): string {
  return ref.replace(/[/:@]/g, '_');
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

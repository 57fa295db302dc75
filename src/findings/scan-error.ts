// Trivy's fatal errors are long and nested ("run error: image scan error: ... 4 errors occurred:\n\t* docker error:
// ...\n\t* remote error: GET ...: UNAUTHORIZED"). Where one line must do (a violation, an annotation), the line that
// says what the registry answered is the useful one; the full text stays in the summary and the results file.

/** The most telling single line of a scan error. */
export function scanErrorHeadline(error: string | undefined): string {
  const lines = (error ?? '')
    .split('\n')
    .map((l) => l.trim().replace(/^\*\s*/, ''))
    .filter(Boolean);
  if (lines.length === 0) return 'unknown error';
  const remote = lines.find((l) => l.startsWith('remote error:'));
  if (remote) return remote;
  // Trivy's wrappers add nothing a reader needs.
  let first = lines[0];
  for (let prev = ''; prev !== first;) {
    prev = first;
    first = first.replace(
      /^(run error|image scan error|scan error|unable to initialize [a-z ]+service): /,
      '',
    );
  }
  return first.trim() || lines[0];
}

/** `1 image`, `3 images`: counts in log lines, summaries and annotations. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** `10.5 MB`: decimal megabytes, as GitHub states its upload limits. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB`;
}

/** `1 image`, `3 images`: counts in log lines, summaries and annotations. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

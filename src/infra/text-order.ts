/** Ordinal, locale-independent order: the same output on every runner, and much faster than localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

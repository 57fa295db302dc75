// ECR host names, in one place for the credentials (auth/providers/ecr.ts) and the listing (registry/catalog.ts):
// two copies had drifted, so a dual-stack host got credentials but was listed through `_catalog`. Pure.

const ECR_HOSTS = [
  /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/i,
  /^(\d{12})\.dkr-ecr(?:-fips)?\.([a-z0-9-]+)\.on\.aws$/i, // dual-stack (IPv6) endpoints
];

/**
 * `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]` or the dual-stack `<account>.dkr-ecr[-fips].<region>.on.aws`
 * -> account and region.
 */
export function parseEcrHost(host: string): { accountId: string; region: string } | undefined {
  for (const re of ECR_HOSTS) {
    const m = re.exec(host);
    if (m) return { accountId: m[1], region: m[2].toLowerCase() };
  }
  return undefined;
}

/**
 * The `iss` of a tenant's customer tokens: `https://<tenant slug>.azotte.dev`. The edge derives
 * it from the published snapshot's tenant slug, so verification needs no Postgres. Renaming a
 * tenant's slug changes its issuer: tokens issued before the rename stop verifying (they live at
 * most a day).
 */
export function customerTokenIssuer(tenantSlug: string): string {
  return `https://${tenantSlug}.azotte.dev`;
}

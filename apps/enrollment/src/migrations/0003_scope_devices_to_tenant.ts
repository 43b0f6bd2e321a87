import { type Kysely, type Migration, sql } from 'kysely';

// A meter's identity is what it can prove, not a name: each tenant names its meters in its own
// namespace, so no tenant's claim or list row can block (or tell of) another tenant's. Which tenant's
// record a meter bootstraps into is decided by the CA its certificate chains to (bootstrap), or by the
// PSK it proves possession of. Existing rows are unique globally, so they are unique per tenant too.
const statements = [
  `alter table devices drop constraint devices_pkey`,
  `alter table devices add constraint devices_pkey primary key (tenant_id, endpoint_name)`,
  // Same columns as the key now: the gateway foreign key moves onto the primary key.
  `alter table devices drop constraint devices_gateway_same_tenant`,
  `drop index devices_by_tenant_unique`,
  `alter table devices add constraint devices_gateway_same_tenant
     foreign key (tenant_id, gateway_id) references devices (tenant_id, endpoint_name)`,
  `drop index devices_psk_identity`,
  `create unique index devices_psk_identity on devices (tenant_id, psk_identity) where psk_identity is not null`,
  // Proof checks look an identity up across tenants: the proof tells the holders apart.
  `create index devices_by_psk_identity on devices (psk_identity) where psk_identity is not null`,
];

export const scopeDevicesToTenant: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};

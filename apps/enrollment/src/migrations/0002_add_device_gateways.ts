import { type Kysely, type Migration, sql } from 'kysely';

// A meter's gateway (data concentrator): a device of the same tenant, never the meter itself. The
// composite foreign key lets no assignment point across tenants, whatever the application does.
const statements = [
  `alter table devices add column gateway_id text`,
  // What the foreign key refers to (endpoint names are unique already; this names the pair).
  `create unique index devices_by_tenant_unique on devices (tenant_id, endpoint_name)`,
  `drop index devices_by_tenant`,
  `alter table devices add constraint devices_gateway_same_tenant
     foreign key (tenant_id, gateway_id) references devices (tenant_id, endpoint_name)`,
  `alter table devices add constraint devices_gateway_not_self check (gateway_id <> endpoint_name)`,
  // The meters behind a gateway: cleared when the gateway leaves the tenant.
  `create index devices_by_gateway on devices (tenant_id, gateway_id) where gateway_id is not null`,
];

export const addDeviceGateways: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};

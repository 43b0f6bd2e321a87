import { type Kysely, type Migration, sql } from 'kysely';

// Network-operator releases (release/network-release.use-case.ts): the tenant's cells (feeders or
// secondary substations), each meter in at most one, so cells partition the meters; the cell totals
// released; and, per tenant, up to when windows were decided. A suppressed cell leaves no row here.
const statements = [
  `create table network_cell_members (
    tenant_id text not null,
    meter_id text not null,
    cell_id text not null,
    cell_kind text not null check (cell_kind in ('feeder', 'substation')),
    assigned_at timestamptz not null,
    assigned_by text not null,
    primary key (tenant_id, meter_id)
  )`,
  `create index network_cell_members_by_cell on network_cell_members (tenant_id, cell_id)`,
  `create table network_released_windows (
    tenant_id text not null,
    cell_id text not null,
    level text not null check (level in ('monthly', 'daily', 'half-hourly')),
    window_start timestamptz not null,
    window_end timestamptz not null check (window_end > window_start),
    event_id uuid not null unique,
    released_at timestamptz not null,
    primary key (tenant_id, cell_id, level, window_start)
  )`,
  `create table network_release_progress (
    tenant_id text primary key,
    decided_until timestamptz not null
  )`,
];

export const createNetworkCells: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};

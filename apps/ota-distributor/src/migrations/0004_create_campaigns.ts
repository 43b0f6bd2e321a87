import { type Kysely, type Migration, sql } from 'kysely';
import { CAMPAIGN_STATES, EXECUTION_STATES, PHASE_STATES } from '../campaigns/domain/state-machines';

const list = (values: readonly string[]) => `(${values.map((v) => `'${v}'`).join(', ')})`;

// Campaigns (spec §6.1, §6.4): the validated body, the state machine's state, who created and who
// decided (approver ≠ creator), phases with their thresholds, the membership plan, counters per phase
// and execution state (moved in the transaction that moves an execution: no counting scans over a
// million rows), and the halts recorded once per rule and phase.
const statements = [
  `create table campaigns (
    campaign_id uuid primary key,
    tenant_id text not null,
    name text not null,
    manifest_id uuid not null references manifests (manifest_id),
    manifest_digest text not null check (manifest_digest ~ '^[0-9a-f]{64}$'),
    class_id text not null,
    sequence_number bigint not null,
    state text not null check (state in ${list(CAMPAIGN_STATES)}),
    body jsonb not null,
    created_by text not null,
    submitted_by text,
    submitted_at timestamptz,
    decided_by text,
    decided_at timestamptz,
    halt_reason jsonb,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (decided_by is null or decided_by <> created_by)
  )`,
  `create index campaigns_by_tenant on campaigns (tenant_id, created_at desc, campaign_id)`,
  `create table campaign_phases (
    campaign_id uuid not null references campaigns (campaign_id) on delete cascade,
    phase integer not null check (phase between 1 and 64),
    name text not null,
    size jsonb not null,
    success_threshold_percent numeric(5, 2) not null check (success_threshold_percent between 0 and 100),
    min_soak_minutes integer not null check (min_soak_minutes >= 0),
    state text not null default 'PENDING' check (state in ${list(PHASE_STATES)}),
    targets integer not null default 0 check (targets >= 0),
    activated_at timestamptz,
    finished_at timestamptz,
    primary key (campaign_id, phase)
  )`,
  // One row per (phase, execution state): a status moves one count down and one up, in its transaction.
  `create table campaign_phase_counts (
    campaign_id uuid not null,
    phase integer not null,
    state text not null check (state in ${list(EXECUTION_STATES)}),
    count integer not null default 0 check (count >= 0),
    primary key (campaign_id, phase, state),
    foreign key (campaign_id, phase) references campaign_phases (campaign_id, phase) on delete cascade
  )`,
  // The membership plan: each target in exactly one phase, in admission order within it.
  `create table campaign_members (
    campaign_id uuid not null references campaigns (campaign_id) on delete cascade,
    device_id text not null,
    phase integer not null,
    admission_order integer not null,
    gateway_id text,
    execution_id text references executions (execution_id),
    primary key (campaign_id, device_id),
    foreign key (campaign_id, phase) references campaign_phases (campaign_id, phase)
  )`,
  `create unique index campaign_members_admission on campaign_members (campaign_id, phase, admission_order)`,
  // Exactly one halt per crossing: the key is the abort rule and the phase.
  `create table campaign_halts (
    campaign_id uuid not null references campaigns (campaign_id) on delete cascade,
    rule integer not null,
    phase integer not null,
    failed integer not null,
    executed integer not null,
    halted_at timestamptz not null,
    primary key (campaign_id, rule, phase)
  )`,
];

export const createCampaigns: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};

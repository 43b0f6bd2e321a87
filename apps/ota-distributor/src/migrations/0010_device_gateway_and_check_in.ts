import { type Kysely, type Migration, sql } from 'kysely';

// Network-aware admission and overdue meters (spec §6.5, §7.5): the projection keeps the gateway (data
// concentrator) enrollment.devices.v1 names for a meter, so a campaign's members are stratified and
// admitted per gateway; and when the meter last checked in, written coarsely (at most once per
// OTA_CHECK_IN_RECORD_MINUTES per meter, never on each 304), so a phase can leave overdue meters out of
// its denominator. A retried execution's backoff runs from when its attempt failed (stage_entered_at).
// Admissions are logged for an hour: the rate's 60 s window and a gateway's bytes per hour count every
// admission, a retried execution's earlier one included (re-queueing clears executions.admitted_at).
const statements = [
  `create table campaign_admissions (
    campaign_id uuid not null references campaigns (campaign_id) on delete cascade,
    execution_id text not null,
    gateway_id text,
    bytes bigint not null check (bytes >= 0),
    admitted_at timestamptz not null,
    primary key (campaign_id, admitted_at, execution_id)
  )`,
  `alter table devices add column gateway_id text, add column last_check_in_at timestamptz`,
  `create index executions_retry_candidates on executions (campaign_id, stage_entered_at)
     where campaign_id is not null and state in ('FAILED', 'TIMED_OUT')`,
];

export const deviceGatewayAndCheckIn: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};

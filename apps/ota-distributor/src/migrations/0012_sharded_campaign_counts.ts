import { type Kysely, type Migration, sql } from 'kysely';

/** Counter rows per (campaign, phase, state): a status moves the slot of its own execution. */
export const CAMPAIGN_COUNT_SLOTS = 32;

// Campaign counters sharded (issue #13, B5). Migration 0007 kept one row per (campaign, phase, state),
// so every status of a campaign moved the same two rows in its own transaction and concurrent statuses
// took turns on them (Lock:transactionid) until each committed: one commit per status and campaign.
// Now each (campaign, phase, state) has up to CAMPAIGN_COUNT_SLOTS rows and an execution always counts
// in the slot its id hashes to (md5: stable across PostgreSQL versions, unlike hashtext), so two
// statuses of one campaign wait for each other only when their executions share a slot. Each slot is
// the exact count of the campaign's executions in that phase and state whose id hashes to it: it
// never goes below zero, and a recount per slot checks it. Every read sums the slots. The counters
// still move in the state change's own transaction (spec §5.4): no scan ever counts.
//
// Lock order is unchanged in kind: within a transaction counter rows are taken in (phase, state in C
// order, slot) order, by the trigger (one execution: one slot, two states in C order) and by bulk
// changes (their deltas sorted so), so concurrent changes never deadlock on them.
//
// Existing counters are rebuilt per slot from the executions they count, once, with writes to the
// executions held off meanwhile (a share lock): the recount is what the counters are meant to be.
const statements = [
  `create function campaign_count_slot(execution_id text) returns integer
   language sql immutable strict parallel safe
   as $$ select get_byte(decode(md5(execution_id), 'hex'), 0) % ${CAMPAIGN_COUNT_SLOTS} $$`,
  `lock table executions in share mode`,
  `alter table campaign_phase_counts
     add column slot smallint not null default 0 check (slot >= 0 and slot < ${CAMPAIGN_COUNT_SLOTS}),
     drop constraint campaign_phase_counts_pkey`,
  `delete from campaign_phase_counts`,
  `insert into campaign_phase_counts (campaign_id, phase, state, slot, count)
   select campaign_id, phase, state, campaign_count_slot(execution_id), count(*)
   from executions where campaign_id is not null
   group by 1, 2, 3, 4`,
  `alter table campaign_phase_counts
     alter column slot drop default,
     add primary key (campaign_id, phase, state, slot)`,
  `drop function campaign_count_add(uuid, integer, text, integer)`,
  // A decrement finds its row (the execution was counted in that slot when it entered the state); one
  // that does not would be a counter out of step, refused rather than lost.
  `create function campaign_count_add(c uuid, p integer, s text, k integer, n integer) returns void
   language plpgsql set search_path from current as $$
   begin
     if n > 0 then
       insert into campaign_phase_counts (campaign_id, phase, state, slot, count) values (c, p, s, k, n)
       on conflict (campaign_id, phase, state, slot) do update set count = campaign_phase_counts.count + n;
     elsif n < 0 then
       update campaign_phase_counts set count = count + n
       where campaign_id = c and phase = p and state = s and slot = k;
       if not found then
         raise exception 'campaign counter % phase % state % slot % missing for %', c, p, s, k, n
           using errcode = 'check_violation';
       end if;
     end if;
   end $$`,
  `create or replace function campaign_execution_counts() returns trigger
   language plpgsql set search_path from current as $$
   declare
     k integer;
   begin
     if new.campaign_id is null or current_setting('ota.bulk_counts', true) = 'on' then
       return null;
     end if;
     k := campaign_count_slot(new.execution_id);
     if tg_op = 'INSERT' then
       perform campaign_count_add(new.campaign_id, new.phase, new.state, k, 1);
     elsif old.state is distinct from new.state then
       if old.state collate "C" < new.state collate "C" then
         perform campaign_count_add(old.campaign_id, old.phase, old.state, k, -1);
         perform campaign_count_add(new.campaign_id, new.phase, new.state, k, 1);
       else
         perform campaign_count_add(new.campaign_id, new.phase, new.state, k, 1);
         perform campaign_count_add(old.campaign_id, old.phase, old.state, k, -1);
       end if;
     end if;
     return null;
   end $$`,
];

export const shardedCampaignCounts: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};

import { type Kysely, type Migration, sql } from 'kysely';

// Campaigns reuse part 1's executions (spec §6.4): every member of a started campaign has one
// execution row, QUEUED until admission lets its directive out at the next check-in. The counters per
// (phase, execution state) move with every insert and state change of such a row, in that row's
// transaction, by the trigger below: no code path (check-in, status, receipt, decommission, cancel,
// retry) can change a campaign execution without its counters, and nothing ever counts by scanning.
// The two counter rows of one change are locked in a fixed order (the states' names), so concurrent
// changes of one campaign never deadlock on them. A bulk change (cancel, retry) sets
// `ota.bulk_counts` to 'on' for its statement and applies its aggregated counts itself, sorted too.
const statements = [
  `alter table executions
     add column campaign_id uuid references campaigns (campaign_id),
     add column phase integer,
     add column admitted_at timestamptz,
     add column stage_entered_at timestamptz not null default now(),
     add check ((campaign_id is null) = (phase is null))`,
  `create index executions_by_campaign on executions (campaign_id, phase, state) where campaign_id is not null`,
  `create index executions_admitted on executions (campaign_id, admitted_at) where admitted_at is not null`,
  `alter table campaigns add column cancel_mode text check (cancel_mode in ('graceful', 'force'))`,
  `create function campaign_count_add(c uuid, p integer, s text, n integer) returns void
   language plpgsql set search_path from current as $$
   begin
     if n > 0 then
       insert into campaign_phase_counts (campaign_id, phase, state, count) values (c, p, s, n)
       on conflict (campaign_id, phase, state) do update set count = campaign_phase_counts.count + n;
     else
       update campaign_phase_counts set count = count + n
       where campaign_id = c and phase = p and state = s;
     end if;
   end $$`,
  `create function campaign_execution_counts() returns trigger
   language plpgsql set search_path from current as $$
   begin
     if new.campaign_id is null or current_setting('ota.bulk_counts', true) = 'on' then
       return null;
     end if;
     if tg_op = 'INSERT' then
       perform campaign_count_add(new.campaign_id, new.phase, new.state, 1);
     elsif old.state is distinct from new.state then
       if old.state collate "C" < new.state collate "C" then
         perform campaign_count_add(old.campaign_id, old.phase, old.state, -1);
         perform campaign_count_add(new.campaign_id, new.phase, new.state, 1);
       else
         perform campaign_count_add(new.campaign_id, new.phase, new.state, 1);
         perform campaign_count_add(old.campaign_id, old.phase, old.state, -1);
       end if;
     end if;
     return null;
   end $$`,
  `create trigger executions_campaign_counts after insert or update of state on executions
   for each row execute function campaign_execution_counts()`,
  // When the execution's stage began (spec §6.6: a timeout runs from the stage's entry): the install
  // stage spans INSTALLING, REBOOTING and CONFIRMING; a new attempt starts over.
  `create function execution_stage_entry() returns trigger
   language plpgsql set search_path from current as $$
   begin
     if (case when new.state in ('INSTALLING', 'REBOOTING', 'CONFIRMING') then 'INSTALL' else new.state end)
        is distinct from
        (case when old.state in ('INSTALLING', 'REBOOTING', 'CONFIRMING') then 'INSTALL' else old.state end)
        or new.attempt <> old.attempt then
       new.stage_entered_at := clock_timestamp();
     end if;
     return new;
   end $$`,
  `create trigger executions_stage_entry before update of state, attempt on executions
   for each row execute function execution_stage_entry()`,
];

export const campaignExecutions: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};

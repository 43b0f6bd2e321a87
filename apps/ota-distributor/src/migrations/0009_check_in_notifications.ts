import { type Kysely, type Migration, sql } from 'kysely';

// Each replica keeps meters' check-in views in memory (device-api/check-in-views.ts); these triggers
// tell every replica what a committed change makes stale, on the channel `check_in_views.<schema>`
// (NOTIFY inside a transaction is delivered only at its commit). They cover every table checkInView
// reads: executions (any change), devices (state or reported digest) and campaigns (state or cancel
// mode). Payloads: {"t": tenant, "d": device}; {"c": campaign} (its executions' views); "*" (all),
// which a statement touching more than 100 devices sends instead of one payload each.
const statements = [
  `create function check_in_notify(schema_name text, keys jsonb) returns void
   language plpgsql set search_path from current as $$
   declare
     channel text := left('check_in_views.' || schema_name, 63);
   begin
     if keys is null then
       return;
     elsif jsonb_array_length(keys) > 100 then
       perform pg_notify(channel, '*');
     else
       perform pg_notify(channel, k::text) from jsonb_array_elements(keys) as k;
     end if;
   end $$`,
  // The rows of the statement, as the transition table "changed" (inserted, updated or deleted).
  `create function check_in_rows_changed() returns trigger
   language plpgsql set search_path from current as $$
   begin
     perform check_in_notify(tg_table_schema, (
       select jsonb_agg(jsonb_build_object('t', tenant_id, 'd', device_id))
       from (select distinct tenant_id, device_id from changed limit 101) as keys));
     return null;
   end $$`,
  // The projection's updates that a check-in reads (not class or state_at alone).
  `create function check_in_devices_updated() returns trigger
   language plpgsql set search_path from current as $$
   begin
     perform check_in_notify(tg_table_schema, (
       select jsonb_agg(jsonb_build_object('t', tenant_id, 'd', device_id))
       from (
         select distinct n.tenant_id, n.device_id
         from new_rows as n join old_rows as o using (tenant_id, device_id)
         where n.state is distinct from o.state
            or n.reported_manifest_digest is distinct from o.reported_manifest_digest
         limit 101) as keys));
     return null;
   end $$`,
  `create function check_in_campaigns_updated() returns trigger
   language plpgsql set search_path from current as $$
   begin
     perform check_in_notify(tg_table_schema, (
       select jsonb_agg(jsonb_build_object('c', campaign_id))
       from (
         select distinct n.campaign_id
         from new_rows as n join old_rows as o using (campaign_id)
         where n.state is distinct from o.state or n.cancel_mode is distinct from o.cancel_mode
         limit 101) as keys));
     return null;
   end $$`,
  `create function check_in_all_changed() returns trigger
   language plpgsql set search_path from current as $$
   begin
     perform pg_notify(left('check_in_views.' || tg_table_schema, 63), '*');
     return null;
   end $$`,
  // Transition tables take one event per trigger.
  ...['insert', 'update', 'delete'].map(
    (event) =>
      `create trigger executions_check_in_${event} after ${event} on executions
       referencing ${event === 'delete' ? 'old' : 'new'} table as changed
       for each statement execute function check_in_rows_changed()`,
  ),
  ...['insert', 'delete'].map(
    (event) =>
      `create trigger devices_check_in_${event} after ${event} on devices
       referencing ${event === 'delete' ? 'old' : 'new'} table as changed
       for each statement execute function check_in_rows_changed()`,
  ),
  `create trigger devices_check_in_update after update on devices
   referencing old table as old_rows new table as new_rows
   for each statement execute function check_in_devices_updated()`,
  `create trigger campaigns_check_in_update after update on campaigns
   referencing old table as old_rows new table as new_rows
   for each statement execute function check_in_campaigns_updated()`,
  ...['executions', 'devices', 'campaigns'].map(
    (table) =>
      `create trigger ${table}_check_in_truncate after truncate on ${table}
       for each statement execute function check_in_all_changed()`,
  ),
];

export const checkInNotifications: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};

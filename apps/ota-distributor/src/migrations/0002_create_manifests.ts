import { type Kysely, type Migration, sql } from 'kysely';

// Signed manifests the distributor accepted (spec §5.4). The exact envelope bytes live in S3 under
// object_key (tenants/<t>/firmware/classes/<c>/manifests/<sequence>-<digest>.json, never overwritten);
// the row keeps what the distributor decides on. Nothing but state and revoked_at ever changes.
const statements = [
  `create table manifests (
    manifest_id uuid primary key,
    tenant_id text not null,
    digest text not null check (digest ~ '^[0-9a-f]{64}$'),
    envelope_sha256 text not null check (envelope_sha256 ~ '^[0-9a-f]{64}$'),
    class_id text not null,
    vendor_id text not null,
    sequence_number bigint not null check (sequence_number >= 0),
    components jsonb not null,
    issued_at timestamptz not null,
    expires_at timestamptz,
    object_key text not null unique,
    signer_key_ids text[] not null check (cardinality(signer_key_ids) > 0),
    state text not null check (state in ('accepted', 'revoked')),
    accepted_at timestamptz not null,
    revoked_at timestamptz,
    foreign key (tenant_id, class_id) references device_classes (tenant_id, class_id),
    unique (tenant_id, digest),
    unique (tenant_id, envelope_sha256),
    check ((state = 'revoked') = (revoked_at is not null))
  )`,
  // One row per component a manifest names: the sequence number is strictly increasing per (tenant,
  // class, component), revoked manifests included (a meter may have installed one). The unique key is
  // the last line of defence behind the per-class lock the use case takes.
  `create table manifest_components (
    tenant_id text not null,
    class_id text not null,
    component text not null,
    sequence_number bigint not null,
    manifest_id uuid not null references manifests (manifest_id),
    primary key (tenant_id, class_id, component, sequence_number)
  )`,
  // Nothing but a revocation changes an accepted manifest, whatever the code above it does.
  `create function manifests_immutable() returns trigger language plpgsql as $$
  begin
    if (new.manifest_id, new.tenant_id, new.digest, new.envelope_sha256, new.class_id, new.vendor_id,
        new.sequence_number, new.components, new.issued_at, new.expires_at, new.object_key,
        new.signer_key_ids, new.accepted_at)
       is distinct from
       (old.manifest_id, old.tenant_id, old.digest, old.envelope_sha256, old.class_id, old.vendor_id,
        old.sequence_number, old.components, old.issued_at, old.expires_at, old.object_key,
        old.signer_key_ids, old.accepted_at)
       or (old.state = 'revoked' and new.state <> 'revoked') then
      raise exception 'an accepted manifest is immutable; only its revocation is recorded';
    end if;
    return new;
  end $$`,
  `create trigger manifests_immutable before update on manifests
    for each row execute function manifests_immutable()`,
];

export const createManifests: Migration = {
  async up(db: Kysely<unknown>) {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
};

/** Injection token of the service's Kysely instance: `@Inject(DATABASE) db: Kysely<MyDb>`. */
export const DATABASE = Symbol('meterkeep:database');

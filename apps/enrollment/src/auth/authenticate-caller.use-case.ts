import { Injectable } from '@nestjs/common';
import { AuthErrors, type Caller, type CallerResolver, bearerToken } from '@meterkeep/service-runtime';
import { hashSecret, keyActor, parseApiKey, secretMatches } from './api-key';
import { ApiKeysRepository } from './api-keys.repository';

// Compared against when the key id is unknown, so a miss costs what a hit costs.
const DECOY = hashSecret('decoy');

/** Resolves an Authorization header to the caller, or refuses: missing, malformed, unknown or revoked. */
@Injectable()
export class AuthenticateCallerUseCase implements CallerResolver {
  constructor(private readonly keys: ApiKeysRepository) {}

  async execute(authorization: string | undefined): Promise<Caller> {
    const parsed = parseApiKey(bearerToken(authorization) ?? '');
    if (!parsed) throw AuthErrors.unauthenticated();
    const key = await this.keys.find(parsed.keyId);
    const matches = secretMatches(parsed.secret, key?.secret_sha256 ?? DECOY);
    if (!key || !matches || key.revoked_at !== null) throw AuthErrors.unauthenticated();
    return { tenantId: key.tenant_id, keyId: key.key_id, role: key.role, actor: keyActor(key.key_id) };
  }
}

import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { ApiKeysRepository } from '../auth/api-keys.repository';
import { toApiKeyView } from './api-key.view';
import type { ApiKeyView } from './api-keys.schemas';

/** The tenant's API keys, revoked ones included; never a secret or its hash. */
@Injectable()
export class ListApiKeysUseCase {
  constructor(private readonly keys: ApiKeysRepository) {}

  async execute(caller: Caller): Promise<{ items: ApiKeyView[] }> {
    return { items: (await this.keys.listByTenant(caller.tenantId)).map(toApiKeyView) };
  }
}

import { Module } from '@nestjs/common';
import { ReleaseKeysModule } from '../release/release-keys.module';
import { ConsentPolicies } from './consent-policies';
import { ConsentPolicyController } from './consent-policy.controller';
import { ConsentsController } from './consents.controller';
import { ConsentsRepository } from './consents.repository';
import { ReadConsentsUseCase } from './read-consents.use-case';
import { RecordConsentChangeUseCase } from './record-consent-change.use-case';
import { SetConsentPolicyUseCase } from './set-consent-policy.use-case';

@Module({
  imports: [ReleaseKeysModule],
  controllers: [ConsentsController, ConsentPolicyController],
  providers: [
    ConsentsRepository,
    ConsentPolicies,
    RecordConsentChangeUseCase,
    ReadConsentsUseCase,
    SetConsentPolicyUseCase,
  ],
  exports: [ConsentPolicies, ConsentsRepository],
})
export class ConsentsModule {}

import { Module } from '@nestjs/common';
import { ReleaseKeysModule } from '../release/release-keys.module';
import { ConsentPolicies } from './consent-policies';
import { ConsentsController } from './consents.controller';
import { ConsentsRepository } from './consents.repository';
import { ReadConsentsUseCase } from './read-consents.use-case';
import { RecordConsentChangeUseCase } from './record-consent-change.use-case';

@Module({
  imports: [ReleaseKeysModule],
  controllers: [ConsentsController],
  providers: [ConsentsRepository, ConsentPolicies, RecordConsentChangeUseCase, ReadConsentsUseCase],
  exports: [ConsentPolicies, ConsentsRepository],
})
export class ConsentsModule {}

import { Module } from '@nestjs/common';
import { RegisterUpdateAuthorityUseCase } from './register-update-authority.use-case';
import { RevokeUpdateAuthorityUseCase } from './revoke-update-authority.use-case';
import { UpdateAuthoritiesController } from './update-authorities.controller';
import { UpdateAuthoritiesRepository } from './update-authorities.repository';

@Module({
  controllers: [UpdateAuthoritiesController],
  providers: [UpdateAuthoritiesRepository, RegisterUpdateAuthorityUseCase, RevokeUpdateAuthorityUseCase],
  exports: [UpdateAuthoritiesRepository],
})
export class UpdateAuthoritiesModule {}

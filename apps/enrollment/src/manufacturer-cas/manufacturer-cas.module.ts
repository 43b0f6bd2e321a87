import { Module } from '@nestjs/common';
import { DisableManufacturerCaUseCase } from './disable-manufacturer-ca.use-case';
import { ManufacturerCasController } from './manufacturer-cas.controller';
import { ManufacturerCasQuery } from './manufacturer-cas.query';
import { ManufacturerCasRepository } from './manufacturer-cas.repository';
import { RegisterManufacturerCaUseCase } from './register-manufacturer-ca.use-case';
import { VerifyManufacturerCaUseCase } from './verify-manufacturer-ca.use-case';

@Module({
  controllers: [ManufacturerCasController],
  providers: [
    ManufacturerCasRepository,
    RegisterManufacturerCaUseCase,
    VerifyManufacturerCaUseCase,
    DisableManufacturerCaUseCase,
    ManufacturerCasQuery,
  ],
})
export class ManufacturerCasModule {}

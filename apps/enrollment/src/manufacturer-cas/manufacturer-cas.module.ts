import { Module } from '@nestjs/common';
import { DisableManufacturerCaUseCase } from './disable-manufacturer-ca.use-case';
import { GetManufacturerCaUseCase } from './get-manufacturer-ca.use-case';
import { ListManufacturerCasUseCase } from './list-manufacturer-cas.use-case';
import { ManufacturerCasController } from './manufacturer-cas.controller';
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
    GetManufacturerCaUseCase,
    ListManufacturerCasUseCase,
  ],
})
export class ManufacturerCasModule {}

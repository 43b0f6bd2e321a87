import { Module } from '@nestjs/common';
import { ExecutionsRepository } from './executions.repository';

@Module({ providers: [ExecutionsRepository], exports: [ExecutionsRepository] })
export class ExecutionsModule {}

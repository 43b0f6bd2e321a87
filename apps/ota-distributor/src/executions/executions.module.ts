import { Module, type OnModuleInit } from '@nestjs/common';
import { ExecutionsRepository } from './executions.repository';
import { startExecutionCounterAtZero } from './status-events';

@Module({ providers: [ExecutionsRepository], exports: [ExecutionsRepository] })
export class ExecutionsModule implements OnModuleInit {
  onModuleInit(): void {
    startExecutionCounterAtZero();
  }
}

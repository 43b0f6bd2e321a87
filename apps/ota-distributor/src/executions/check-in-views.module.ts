import { Global, Module } from '@nestjs/common';
import { CheckInViews } from './check-in-views';
import { ExecutionsModule } from './executions.module';

/** CheckInViews for every module: the outbox's Transactions waits on it after each commit. */
@Global()
@Module({ imports: [ExecutionsModule], providers: [CheckInViews], exports: [CheckInViews] })
export class CheckInViewsModule {}

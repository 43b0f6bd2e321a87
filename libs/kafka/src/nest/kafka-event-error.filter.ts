import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { type Observable, throwError } from 'rxjs';

/**
 * Nest's default RPC filter turns every unknown error into `{ status: 'error', message }`, which
 * hides a PermanentEventError from the transport (it would be retried, not dead-lettered). This
 * filter hands the handler's own error through. `@KafkaEventPattern(contract)` applies it per handler;
 * for plain `@EventPattern`, use `app.useGlobalFilters(new KafkaEventErrorFilter())` on the Kafka
 * microservice or `@UseFilters` on the consumer controller.
 */
@Catch()
export class KafkaEventErrorFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

import { type DynamicModule, Module } from '@nestjs/common';
import { READ_MODEL_OPTIONS, type ReadModelOptions, ReadModelSync } from './read-model.sync';
import { ReadModelStore } from './read-model.store';

/** The Redis read model and the consumer that keeps it fed: one per process, global. */
@Module({})
export class ReadModelModule {
  static forRoot(options: ReadModelOptions): DynamicModule {
    return {
      module: ReadModelModule,
      global: true,
      providers: [{ provide: READ_MODEL_OPTIONS, useValue: options }, ReadModelStore, ReadModelSync],
      exports: [ReadModelStore, ReadModelSync],
    };
  }
}

import { PLATFORM_SERVICES } from '@meterkeep/contracts';
import {
  type KafkaPrincipal,
  StackError,
  formatEnvExports,
  serviceIdentity,
  statusLines,
} from '@meterkeep/local-stack';
import { openLocalStack } from './open-local-stack';

const isPrincipal = (name: string): name is KafkaPrincipal =>
  name === 'admin' || (PLATFORM_SERVICES as readonly string[]).includes(name);

const USAGE = `Meterkeep local infrastructure stack, without containers.

  stack.sh up            start whatever is not running (idempotent; a no-op when all is up)
  stack.sh down          stop what \`up\` started (Kafka, S3Proxy); never the machine's PostgreSQL/Redis
  stack.sh status        one line per component, up/down (exit 0 when all are up, 3 otherwise)
  stack.sh env           \`export VAR=value\` lines for shells and test harnesses
  stack.sh identity NAME the service NAME's identity files from the local platform CA (minted on first
                         use under .local-stack/pki), as \`export\` lines: SERVICE_TLS_CERT_FILE and the like
  stack.sh stop-kafka    stop only the Kafka broker
  stack.sh start-kafka   start only the Kafka broker and wait until it answers

PostgreSQL and Redis are the machine's own servers (127.0.0.1:5432, 127.0.0.1:6379); Kafka 4 (KRaft)
and S3Proxy come from Maven Central (see kafka/pom.xml, s3proxy/pom.xml) and run from the state dir
\${METERKEEP_STACK_DIR:-<repo>/.local-stack}. See deploy/local/README.md.
`;

/**
 * deploy/local/stack.sh's commands: `self` is how the script was called (for advice in messages).
 * Resolves with the exit code: 0, 1 on an error, 2 for a wrong command, 3 when `status` finds one down.
 */
export async function runStackCommand(
  self: string,
  command: string | undefined,
  argument?: string,
): Promise<number> {
  const say = (line: string) => process.stderr.write(`stack.sh: ${line}\n`);
  const stack = openLocalStack({ self, say, startedAt: Math.round(performance.timeOrigin) });
  try {
    switch (command ?? '') {
      case 'up':
        await stack.up();
        process.stdout.write(stack.endpoints());
        return 0;
      case 'down':
        await stack.down();
        return 0;
      case 'status': {
        const components = await stack.status();
        process.stdout.write(statusLines(components));
        return components.every((component) => component.up) ? 0 : 3;
      }
      case 'env': {
        if (argument !== undefined && !isPrincipal(argument)) {
          process.stderr.write(`stack.sh: error: env takes admin or a service name, not '${argument}'\n`);
          return 2;
        }
        process.stdout.write(formatEnvExports(stack.env(argument)));
        return 0;
      }
      case 'identity':
        if (!argument || !/^[a-z][a-z0-9-]{0,62}$/.test(argument)) {
          process.stderr.write(USAGE);
          return 2;
        }
        process.stdout.write(formatEnvExports({ ...serviceIdentity(argument) }));
        return 0;
      case 'start-kafka':
        await stack.startKafka();
        return 0;
      case 'stop-kafka':
        await stack.stopKafka();
        return 0;
      default:
        process.stderr.write(USAGE);
        return 2;
    }
  } catch (error) {
    if (!(error instanceof StackError)) throw error;
    process.stderr.write(`stack.sh: error: ${error.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  // kafkajs 2.2.4 schedules a timer with a negative delay (harmless: Node clamps it to 1 ms) while the
  // probe waits for the broker; Node would warn about it on the terminal. Other warnings still show.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'TimeoutNegativeWarning')
      process.stderr.write(`${warning.name}: ${warning.message}\n`);
  });
  const [self = 'deploy/local/stack.sh', command, argument] = process.argv.slice(2);
  // Exit at once: a client's idle socket must not keep the command waiting.
  runStackCommand(self, command, argument).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `stack.sh: error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}

import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Human-readable lines instead of JSON; defaults to whether stderr is a terminal. */
  pretty?: boolean;
  /** Where JSON lines go (a file descriptor); defaults to 2, stderr. */
  destination?: number;
}

/**
 * The supervisor's logger: JSON lines (one object per line, as log pipelines
 * expect) or, on a terminal, pino-pretty's readable form.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const destination = options.destination ?? 2;
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  if (pretty) {
    return pino({
      level,
      transport: {
        target: 'pino-pretty',
        options: {
          destination,
          translateTime: 'SYS:HH:MM:ss.l',
          // One line per event, a cluster's lines prefixed with its id and name.
          singleLine: true,
          ignore: 'pid,hostname,cluster,name,stream,component',
          messageFormat: '{if name}[{cluster} {name}] {end}{msg}',
        },
      },
    });
  }
  return pino({ level, base: undefined }, pino.destination({ dest: destination, sync: true }));
}

/**
 * Adapts the logger to XState's `log` action: machines log plain objects
 * `{ level, msg, ...fields }` and stay free of I/O.
 */
export function machineLogger(logger: Logger): (...args: unknown[]) => void {
  return (...args) => {
    const value = args.at(-1);
    if (value && typeof value === 'object' && 'msg' in value) {
      const { level, msg, ...fields } = value as { level?: string; msg: string };
      const method = level && level in logger && typeof logger[level as 'info'] === 'function' ? (level as 'info') : 'info';
      logger[method](fields, msg);
    } else {
      logger.info(String(value));
    }
  };
}

/**
 * A warning that a flood could repeat (100,000 bad messages on the bus):
 * at most `burst` lines of one kind per `intervalMs`, then, when the interval
 * ends, one line that says how many more there were. Kinds are a fixed set
 * named by the caller.
 */
export function limitedWarnings(logger: Logger, { burst = 5, intervalMs = 10_000 } = {}) {
  const windows = new Map<string, { logged: number; suppressed: number }>();
  return (kind: string, fields: object, message: string) => {
    let window = windows.get(kind);
    if (!window) {
      windows.set(kind, (window = { logged: 0, suppressed: 0 }));
      const opened = window;
      setTimeout(() => {
        windows.delete(kind);
        if (opened.suppressed > 0) {
          logger.warn(
            { kind, suppressed: opened.suppressed },
            `${opened.suppressed} more warnings like "${message}" in the last ${intervalMs / 1000} s were not logged`,
          );
        }
      }, intervalMs).unref();
    }
    if (window.logged < burst) {
      window.logged++;
      logger.warn({ kind, ...fields }, message);
    } else {
      window.suppressed++;
    }
  };
}

export type LimitedWarnings = ReturnType<typeof limitedWarnings>;

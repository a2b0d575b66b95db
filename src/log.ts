import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

export interface RunLogger {
  logger: Logger;
  /** Flushes and closes the JSON-lines file. */
  close(): Promise<void>;
}

export interface LoggerOptions {
  level: LogLevel;
  /** JSON-lines file that keeps the structured record of the run (always at debug level). */
  jsonLogPath?: string;
  /** Values that must never be written anywhere, whatever field or message they end up in. */
  secrets: string[];
  /** Human-readable lines go here (stdout in a run; a buffer in tests). */
  humanStream?: NodeJS.WritableStream;
  color?: boolean;
}

/** Paths pino censors before serialising; the secret scrubber below is the second line of defence. */
const REDACT = [
  'password', 'pass', 'secret', 'authorization', 'cookie',
  '*.password', '*.pass', '*.secret', '*.authorization', '*.cookie',
  'headers.authorization', 'headers.cookie', '*.headers.authorization', '*.headers.cookie',
];

/** One root logger, two destinations: readable lines for StdOut.log and a JSON-lines file for the record. */
export function createRunLogger(options: LoggerOptions): RunLogger {
  const secrets = options.secrets.filter((s) => s.length >= 3);
  const scrub = (line: string): string => secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), line);

  const human = pretty({
    destination: options.humanStream ?? process.stdout,
    colorize: options.color ?? false,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss',
    ignore: 'pid,hostname,run',
    // Fields stay in the JSON log; StdOut.log gets one sentence per event. (singleLine together with hideObject
    // drops the line ending, and with hideObject nothing spans lines anyway.)
    hideObject: true,
    sync: true,
  });
  const streams: pino.StreamEntry[] = [{ level: options.level, stream: human }];
  let file: ReturnType<typeof pino.destination> | undefined;
  if (options.jsonLogPath) {
    // Synchronous, so the file is complete whenever the run reads it back to attach it to the project.
    file = pino.destination({ dest: options.jsonLogPath, sync: true, append: false });
    file.on('error', () => undefined); // a full disk must not crash the run; the report step says what failed
    streams.push({ level: 'debug', stream: file });
  }
  const logger = pino(
    {
      level: lowest(options.level, file ? 'debug' : options.level),
      redact: { paths: REDACT, censor: '[redacted]' },
      hooks: { streamWrite: scrub },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"warn" rather than 40, so the JSON log reads without pino's number table.
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.multistream(streams),
  );
  return {
    logger,
    close: async () => {
      try {
        file?.flushSync();
        file?.end();
      } catch {
        // nothing more can be done about a log file that cannot be written
      }
    },
  };
}

/** Whether a line of `level` reaches a person whose lines start at `threshold`. */
export function isShown(level: LogLevel, threshold: LogLevel): boolean {
  return pino.levels.values[level]! >= pino.levels.values[threshold]!;
}

function lowest(a: LogLevel, b: LogLevel): LogLevel {
  return pino.levels.values[a]! <= pino.levels.values[b]! ? a : b;
}

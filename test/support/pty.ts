import { spawn, spawnSync } from 'node:child_process';

/** script(1) from util-linux gives a command a pseudo-terminal, as an interactive shell would. */
export const hasScript = spawnSync('script', ['--version']).status === 0;

const quote = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;

/**
 * Runs `args` (a program and its arguments) on a pseudo-terminal of the given width and returns what the terminal showed (CRs
 * removed). `answer` types text once the output matches, as a person at the keyboard would.
 */
export function runInTerminal(args: string[], options: { columns?: number; env?: Record<string, string>; answer?: { after: RegExp; text: string } } = {}): Promise<string> {
  const command = `stty cols ${options.columns ?? 80} rows 50; exec ${args.map(quote).join(' ')}`;
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm', ...options.env },
      stdio: [options.answer ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let answered = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (options.answer && !answered && options.answer.after.test(out)) {
        answered = true;
        child.stdin?.write(options.answer.text);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', () => {
      clearTimeout(timer);
      child.stdin?.destroy();
      resolve(out.replace(/\r/g, ''));
    });
  });
}

/** One line of the readiness checklist: what was checked, what was found and, when it is not fine, the fix. */
export interface CheckLine {
  status: 'ok' | 'warn' | 'fail' | 'skip';
  what: string;
  found: string;
  fix?: string;
}

const MARKS: Record<CheckLine['status'], string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

export function formatLine(line: CheckLine): string {
  const fix = line.fix && line.status !== 'ok' ? ` → ${line.fix}` : '';
  return `${MARKS[line.status]} ${line.what}: ${line.found}${fix}`;
}

export const ok = (what: string, found: string): CheckLine => ({ status: 'ok', what, found });
export const warn = (what: string, found: string, fix?: string): CheckLine => ({ status: 'warn', what, found, fix });
export const fail = (what: string, found: string, fix: string): CheckLine => ({ status: 'fail', what, found, fix });
export const skip = (what: string, found: string): CheckLine => ({ status: 'skip', what, found });

/**
 * Code comments cite facts in docs/reference/<file>.md#<anchor>, which a clone has, never the section numbers of
 * notes outside the repository (issue 11). docs/reference/ itself names those notes as its sources, so it is not
 * scanned here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT as ROOT } from '../../emulators/container-service/launch.js';

const SCANNED = ['src', 'emulators', 'test', 'scripts', 'chaos', 'README.md', 'docs/glossary.md', 'docs/container.md', 'docs/benchmarks.md', 'Dockerfile', 'command.json'];

// Files allowed to keep an old citation for a while (none now); docs/reference/citation-map.md maps old to new.
const PENDING = new Set<string>([]);

function filesUnder(path: string): string[] {
  const full = join(ROOT, path);
  if (!statSync(full, { throwIfNoEntry: false })) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full).flatMap((name) => filesUnder(join(path, name)));
}

/** `§` with what precedes it; a DICOM standard part (PS3.5 §7) or an issue's section is not a shared note. */
function sharedNoteCitations(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/§/g)) {
    const before = text.slice(Math.max(0, match.index - 40), match.index);
    if (/(PS3\.\d+|issue \d+)\s*$/.test(before)) continue;
    found.push(text.slice(Math.max(0, match.index - 30), match.index + 6).replace(/\s+/g, ' '));
  }
  return found;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'. */
function anchorsOf(markdown: string): Set<string> {
  const headings = markdown.split('\n').filter((line) => /^#{1,6} /.test(line));
  return new Set(headings.map((line) => line.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')));
}

const SELF = 'test/unit/citations.test.ts';
const files = SCANNED.flatMap(filesUnder).filter((file) => file !== SELF);
const texts = new Map(files.map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]));

describe('fact citations', () => {
  it('cite docs/reference, not section numbers of notes outside the repository', () => {
    const offenders = [...texts]
      .filter(([file]) => !PENDING.has(file))
      .flatMap(([file, text]) => sharedNoteCitations(text).map((cite) => `${file}: …${cite}…`));
    expect(offenders).toEqual([]);
  });

  it('point at headings that exist', () => {
    const broken: string[] = [];
    for (const [file, text] of texts) {
      for (const [, doc, anchor] of text.matchAll(/docs\/reference\/([a-z0-9-]+\.md)#([a-z0-9-]+)/g)) {
        const target = statSync(join(ROOT, 'docs/reference', doc!), { throwIfNoEntry: false });
        if (!target || !anchorsOf(readFileSync(join(ROOT, 'docs/reference', doc!), 'utf8')).has(anchor!)) broken.push(`${file}: ${doc}#${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('still finds the old forms (the scan is not vacuous)', () => {
    expect(sharedNoteCitations('a fact (xnat-rest-api.md §4) and (reference §2.3) and (§7)')).toHaveLength(3);
    expect(sharedNoteCitations('UIDs (PS3.5 §9.1), see issue 3 §5')).toEqual([]);
  });
});

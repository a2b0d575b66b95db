/**
 * `node --import tsx test/support/pyarrow-index.ts <file> <rows> <placed>`: writes an IDC index laid out as pyarrow
 * rewrites IDC's file (INDEX_LAYOUTS.pyarrow): up to 1,048,576 rows in a row group, ~1 MB pages, no page index.
 * `placed` is JSON, {"<row>": IdcIndexRow}, the rows of series a test serves; the rest are series it does not.
 * A process of its own, so that the test's process, which spawns the CLI it measures, stays small: where /proc has
 * no VmHWM the probe falls back to getrusage, whose peak can start from the parent's RSS at the fork.
 */
import { INDEX_LAYOUTS, writeIndexParquet, type IdcIndexRow } from '../../emulators/idc/index.js';

/** A row of a series nobody asks for: UIDs, study and URL of the usual lengths. */
function filler(i: number): IdcIndexRow {
  return {
    collection_id: `collection_${Math.floor(i / 20_000)}`,
    PatientID: `PT-${String(Math.floor(i / 8)).padStart(7, '0')}`,
    StudyInstanceUID: `1.3.6.1.4.1.14519.5.2.1.${(i * 31) % 997}.${(i * 7919) % 104_729}.${Math.floor(i / 3)}`,
    SeriesInstanceUID: `1.3.6.1.4.1.14519.5.2.1.${(i * 7919) % 9973}.${(i * 104_729) % 999_983}.${i}`,
    series_size_MB: (i % 997) / 3,
    series_aws_url: `s3://idc-open-data/${((i * 2_654_435_761) >>> 0).toString(16).padStart(8, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}/*`,
  };
}

const [file, rowsText, placedText] = process.argv.slice(2);
if (file && rowsText && placedText) {
  const placed = JSON.parse(placedText) as Record<string, IdcIndexRow>;
  const rows = Array.from({ length: Number(rowsText) }, (_, i) => placed[i] ?? filler(i));
  await writeIndexParquet([rows], file, { ...INDEX_LAYOUTS.pyarrow, level: 1 });
}

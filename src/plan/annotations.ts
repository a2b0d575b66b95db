import type { RunReport } from '../finalize/report.js';
import type { Logger } from '../log.js';
import type { Plan } from './build-plan.js';

/**
 * getImage serves a series' DICOM images and never its annotation files (docs/reference/nbia.md#annotations), so a
 * series TCIA flags as annotated reaches XNAT without them, whatever the manifest's includeAnnotation says. The run
 * says so once, with a count in the report, instead of reporting such a series as if nothing were left at TCIA.
 */
export function noteAnnotations(plan: Plan, report: RunReport, logger: Logger): void {
  const annotated = plan.series.filter((s) => s.meta?.annotations === true && s.action !== 'unknown');
  if (annotated.length === 0) return;
  report.annotationsNotImported = annotated.length;
  logger.warn({ series: annotated[0]!.uid },
    `${annotated.length} series have annotation files at TCIA (first: ${annotated[0]!.uid}); this tool imports their DICOM images only, so download the annotations from TCIA separately if you need them`);
}

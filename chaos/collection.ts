/** The chaos collection: many patients and studies of uneven shape, built from the synthetic DICOM builder. */
import { seriesSpecFromUid, uidFromSeed, type SeriesSpec, type TransferSyntax } from '../emulators/dicom/synthetic-series.js';
import type { Random } from './random.js';

export interface CollectionSize {
  patients: number;
  studies: number;
}

// PatientIDs with characters XNAT's label cleaning rewrites, and names that clean to nothing or to odd labels;
// names outside ASCII make their files UTF-8 (ISO_IR 192), with multi-byte values.
const ODD_IDS = ['LUNG 1/0', "O'NEIL-7", 'pt.09', 'A&B_3', 'TCGA-05-4244'];
const ODD_NAMES = ["O'BRIEN^ANN", '', 'VAN DER BERG^JAN', '^^^', 'DOE^JOHN^^DR'];
const NON_ASCII_NAMES = ['Müller^Zoë', 'Иванов^Пётр', 'Yamada^Tarou=山田^太郎', 'Ñúñez^José', 'Παπαδόπουλος^Ελένη'];
/** Most series explicit little endian, as most of TCIA is; the rest implicit VR or big endian. */
const SYNTAXES: TransferSyntax[] = ['explicit-le', 'explicit-le', 'explicit-le', 'implicit-le', 'explicit-be'];
const IMAGING = ['CT', 'MR', 'PT'];
const DERIVED = ['RTSTRUCT', 'SEG', 'RTDOSE'];

/**
 * `studies` studies spread over `patients` patients, 1–8 series each and 1–12 files per series; an imaging
 * modality per study with RTSTRUCT/SEG/RTDOSE series after its images, some series without SeriesNumber, and
 * series in each uncompressed transfer syntax.
 */
export function chaosCollection(random: Random, seed: number, size: CollectionSize): SeriesSpec[] {
  const specs: SeriesSpec[] = [];
  const patients = Array.from({ length: size.patients }, (_, p) => ({
    id: random.chance(0.25) ? `${random.pick(ODD_IDS)}${p}` : `CHAOS-${String(p).padStart(4, '0')}`,
    // Every fourth patient, from the second on, has a name outside ASCII.
    name: p % 4 === 1 ? random.pick(NON_ASCII_NAMES) : random.chance(0.3) ? random.pick(ODD_NAMES) : `CHAOS^P${p}`,
  }));
  for (let st = 0; st < size.studies; st++) {
    // Every patient gets a study before any gets a second one.
    const patient = st < patients.length ? patients[st]! : random.pick(patients);
    const studyUid = uidFromSeed(`chaos:${seed}:study:${st}`);
    const modality = random.pick(IMAGING);
    const count = Math.min(8, 1 + Math.floor(random.next() ** 2 * 8));
    const studyDate = `20${String(10 + random.int(0, 14))}${String(random.int(1, 12)).padStart(2, '0')}${String(random.int(1, 28)).padStart(2, '0')}`;
    for (let k = 0; k < count; k++) {
      const uid = uidFromSeed(`chaos:${seed}:series:${st}:${k}`);
      const derived = k > 0 && k === count - 1 && random.chance(0.5);
      const spec: SeriesSpec = {
        ...seriesSpecFromUid(uid, { rows: 16, columns: 16, collection: 'CHAOS-TEST' }),
        studyUid,
        patientId: patient.id,
        patientName: patient.name,
        studyDate,
        modality: derived ? random.pick(DERIVED) : modality,
        seriesNumber: random.chance(0.1) ? undefined : k + 1,
        imageCount: derived && random.chance(0.6) ? 1 : random.int(1, 12),
        transferSyntax: random.pick(SYNTAXES),
      };
      specs.push(spec);
    }
  }
  return specs;
}

// dcmjs ships no type declarations; this covers the part of its API the project uses.
declare module 'dcmjs' {
  export interface DicomElement {
    vr: string;
    Value?: unknown[];
    InlineBinary?: string;
  }
  export type DenaturalizedDataset = Record<string, DicomElement>;
  export type NaturalizedDataset = Record<string, unknown> & { _vrMap?: Record<string, string> };

  export interface ReadOptions {
    ignoreErrors?: boolean;
    untilTag?: string | null;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
    forceStoreRaw?: boolean;
  }

  export class DicomDict {
    constructor(meta: DenaturalizedDataset);
    meta: DenaturalizedDataset;
    dict: DenaturalizedDataset;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }

  export const data: {
    DicomDict: typeof DicomDict;
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: ReadOptions): DicomDict;
    };
    DicomMetaDictionary: {
      naturalizeDataset(dataset: DenaturalizedDataset): NaturalizedDataset;
      denaturalizeDataset(dataset: NaturalizedDataset): DenaturalizedDataset;
      uid(): string;
    };
  };

  const dcmjs: { data: typeof data };
  export default dcmjs;
}

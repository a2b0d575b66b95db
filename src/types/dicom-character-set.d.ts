// dicom-character-set ships no type declarations; this covers the part of its API the project uses.
declare module 'dicom-character-set' {
  /** Decodes the bytes of one text value in the given Specific Character Set (all of its values, `\`-joined). */
  export function convertBytes(specificCharacterSet: string | undefined, bytes: Uint8Array, options?: { vr?: string }): string;
}

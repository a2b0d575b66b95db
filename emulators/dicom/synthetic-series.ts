// Deterministic synthetic DICOM series for the NBIA and XNAT emulators: specs, collections and Part 10 bytes.
export * from './series-spec.js';
export * from './part10.js';

export * from './tar';
export * from './file-tree';
export * from './oci';
export * from './build';
export * from './debian';
export * from './maven';
export * from './java';
export * from './trust-store';

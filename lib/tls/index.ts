export * from './certificates';
export * from './class';
export * from './java-stores';

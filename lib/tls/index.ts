export * from './certificates';
export * from './class';

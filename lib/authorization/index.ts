export * from './opa';

export * from './class';
export * from './stacklet-authentication';
export * from './kerberos';

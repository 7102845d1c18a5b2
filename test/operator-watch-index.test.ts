import { WatchIndex } from '../lib/operator/watch-index';

describe('WatchIndex', () => {
  it('finds the stacklets watching an object, in its namespace only', () => {
    const index = new WatchIndex();
    index.set('Kafka/ns/a', 'ns', ['zk', 'tls']);
    index.set('Kafka/ns/b', 'ns', ['zk']);
    index.set('Kafka/other/c', 'other', ['zk']);
    expect([...index.watchersOf('ns', 'zk')].sort()).toEqual(['Kafka/ns/a', 'Kafka/ns/b']);
    expect([...index.watchersOf('ns', 'tls')]).toEqual(['Kafka/ns/a']);
    expect([...index.watchersOf('other', 'zk')]).toEqual(['Kafka/other/c']);
    expect([...index.watchersOf('ns', 'nothing')]).toEqual([]);
  });

  it('replaces what a stacklet watched with what it watches now', () => {
    const index = new WatchIndex();
    index.set('Trino/ns/t', 'ns', ['old']);
    index.set('Trino/ns/t', 'ns', ['new']);
    expect([...index.watchersOf('ns', 'old')]).toEqual([]);
    expect([...index.watchersOf('ns', 'new')]).toEqual(['Trino/ns/t']);
  });

  it('forgets a stacklet that is gone', () => {
    const index = new WatchIndex();
    index.set('Hive/ns/h', 'ns', ['db']);
    index.set('Hive/ns/i', 'ns', ['db']);
    index.forget('Hive/ns/h');
    expect([...index.watchersOf('ns', 'db')]).toEqual(['Hive/ns/i']);
  });
});

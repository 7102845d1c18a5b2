/**
 * The default cdk8s app (`cdk8s.yaml`): the bundled example platform, a streaming platform
 * (ZooKeeper, Kafka) and a lakehouse (Hive, Trino). `npm run synth` compiles and runs it, writing
 * one manifest file per chart into dist/ (keelson's `synth`: the files `app.synth()` writes, faster).
 */
import { App } from 'cdk8s';
import { synth, synthReport } from 'keelson';
import { lakehousePlatform } from './lakehouse';
import { streamingPlatform } from './streaming';

const app = new App();
streamingPlatform(app);
lakehousePlatform(app);
synth(app);
// stderr: `cdk8s synth` keeps the app's stdout for itself (and `--stdout` prints manifests there).
for (const line of synthReport(app)) console.error(line);

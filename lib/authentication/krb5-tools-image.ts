/**
 * keelson's krb5-tools image (`ghcr.io/keelson/krb5-tools:<MIT krb5 version>`): Debian 12's MIT
 * Kerberos client tools (`krb5-user`: kadmin, kinit, klist, ktutil) with bash, grep and coreutils,
 * run as uid 10001. The init container that writes a pod's keytab runs in it (./kerberos.ts).
 */
import { accountsLayer, debianLayer, type ImageRecipe, type ProductImages } from '../image';
import { KRB5_TOOLS_IMAGE_REPOSITORY, KRB5_TOOLS_VERSION } from './kerberos';

/** keelson's default pod user. */
const KRB5_TOOLS_UID = 10001;

/** The image's recipe. */
export function krb5ToolsImageRecipe(): ImageRecipe {
  return {
    reference: `${KRB5_TOOLS_IMAGE_REPOSITORY}:${KRB5_TOOLS_VERSION}`,
    layers: [
      debianLayer({
        description: "Debian 12's MIT Kerberos client tools (krb5-user) with bash",
        packages: [
          'base-files',
          'bash',
          'coreutils',
          'dash',
          'grep',
          'libc-bin',
          'usr-is-merged',
          'krb5-user',
        ],
      }),
      accountsLayer([{ name: 'keelson', uid: KRB5_TOOLS_UID, gid: KRB5_TOOLS_UID }]),
    ],
    config: {
      user: `${KRB5_TOOLS_UID}:${KRB5_TOOLS_UID}`,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
      labels: {
        'org.opencontainers.image.version': KRB5_TOOLS_VERSION,
        'org.opencontainers.image.title': 'keelson krb5-tools',
      },
    },
  };
}

/** The image for `keelson image build krb5-tools`. */
export const KRB5_TOOLS_IMAGES: ProductImages = {
  product: 'krb5-tools',
  versions: [KRB5_TOOLS_VERSION],
  recipe: (version) => {
    if (version !== KRB5_TOOLS_VERSION) {
      throw new Error(`image: keelson builds krb5-tools ${KRB5_TOOLS_VERSION} only, not ${version}`);
    }
    return krb5ToolsImageRecipe();
  },
};

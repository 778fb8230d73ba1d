// Apple's own App Store Server Library, pointed at an Orchard test server.
import { AppStoreServerAPIClient, Environment } from '@apple/app-store-server-library';

/** What POST /api/v1/developer/api-keys returns (the private key only then). */
export interface CreatedKey {
  keyId: string;
  issuerId: string;
  privateKey: string;
  createdAt?: string;
}

/**
 * Apple's client hard-codes Apple's hosts (a private `urlBase` set from the environment in the constructor,
 * no option to override it), so tests point it at the local server by overwriting that field.
 */
export class OrchardClient extends AppStoreServerAPIClient {
  constructor(baseUrl: string, key: CreatedKey, bundleId: string) {
    super(key.privateKey, key.keyId, key.issuerId, bundleId, Environment.PRODUCTION);
    (this as unknown as { urlBase: string }).urlBase = baseUrl;
  }
}

/**
 * Turns a group's credential settings into an AWS SDK credential provider
 * (`@aws-sdk/credential-providers`), including cross-account access through sts:AssumeRole.
 */
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { fromIni, fromNodeProviderChain, fromTemporaryCredentials, fromTokenFile } from '@aws-sdk/credential-providers';
import type { CredentialsConfig } from '../config/app-config';

export function credentialsProvider(config: CredentialsConfig, region: string): AwsCredentialIdentityProvider {
  switch (config.provider) {
    case 'AUTO':
      return fromNodeProviderChain();
    case 'BASIC': {
      const identity = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
      return async () => identity;
    }
    case 'PROFILE':
      return fromIni({ profile: config.profileName, filepath: config.profilePath });
    case 'WEB_IDENTITY_TOKEN':
      return fromTokenFile({ roleArn: config.roleArn, roleSessionName: config.sessionName, webIdentityTokenFile: config.tokenFile });
    case 'ASSUME_ROLE':
      // fromTemporaryCredentials refreshes the session before it expires.
      return fromTemporaryCredentials({
        params: { RoleArn: config.roleArn, RoleSessionName: config.sessionName, ExternalId: config.externalId },
        masterCredentials: credentialsProvider(config.base, region),
        clientConfig: { region, ...(config.stsEndpoint ? { endpoint: config.stsEndpoint } : {}) },
      });
  }
}

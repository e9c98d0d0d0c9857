/**
 * A local endpoint speaking the STS query protocol, answering AssumeRole with credentials whose
 * access key id is the 12-digit account id of the role (kinesis-local selects the account by it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AssumeRoleCall {
  roleArn: string;
  sessionName: string;
  externalId?: string;
  /** The access key id that signed the call (the base credentials). */
  callerAccessKeyId?: string;
}

export interface StsServer {
  endpoint: string;
  calls: AssumeRoleCall[];
  close(): Promise<void>;
}

export async function startStsServer(): Promise<StsServer> {
  const calls: AssumeRoleCall[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const params = new URLSearchParams(body);
      if (params.get('Action') !== 'AssumeRole') {
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(`<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>only AssumeRole</Message></Error></ErrorResponse>`);
        return;
      }
      const roleArn = params.get('RoleArn') ?? '';
      const account = /^arn:aws:iam::(\d{12}):role\//.exec(roleArn)?.[1];
      const callerAccessKeyId = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
      calls.push({ roleArn, sessionName: params.get('RoleSessionName') ?? '', externalId: params.get('ExternalId') ?? undefined, callerAccessKeyId });
      if (!account) {
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(`<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>bad role ARN</Message></Error></ErrorResponse>`);
        return;
      }
      const expiration = new Date(Date.now() + 3600_000).toISOString();
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::${account}:assumed-role/${roleArn.split('/').pop()}/${params.get('RoleSessionName')}</Arn>
      <AssumedRoleId>AROA${account}:${params.get('RoleSessionName')}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${account}</AccessKeyId>
      <SecretAccessKey>assumed-secret</SecretAccessKey>
      <SessionToken>assumed-session-token</SessionToken>
      <Expiration>${expiration}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>
</AssumeRoleResponse>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

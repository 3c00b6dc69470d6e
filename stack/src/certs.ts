import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { capture, requireTool } from './commands.ts';

export interface IssuedCert {
  cert: string;
  key: string;
}

export interface CertRequest {
  /** File stem inside the PKI directory. */
  name: string;
  commonName: string;
  organization?: string;
  /** DNS names and IPs for a serving certificate. */
  dns?: string[];
  ips?: string[];
  usage: 'server' | 'client' | 'both';
}

/**
 * A tiny certificate authority for the local stack (API server, clients, and carrier
 * mTLS links). ECDSA P-256 keys: fast to generate and accepted by Go and Node alike.
 */
export class LocalCa {
  readonly cert: string;
  readonly key: string;

  constructor(readonly dir: string) {
    this.cert = join(dir, 'ca.crt');
    this.key = join(dir, 'ca.key');
  }

  ensure(): this {
    if (existsSync(this.cert) && existsSync(this.key)) return this;
    requireTool('openssl');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    capture('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', this.key]);
    capture('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      this.key,
      '-sha256',
      '-days',
      '3650',
      '-subj',
      '/CN=anshim-local-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      this.cert,
    ]);
    return this;
  }

  issue(req: CertRequest): IssuedCert {
    const cert = join(this.dir, `${req.name}.crt`);
    const key = join(this.dir, `${req.name}.key`);
    if (existsSync(cert) && existsSync(key)) return { cert, key };
    const csr = join(this.dir, `${req.name}.csr`);
    const ext = join(this.dir, `${req.name}.ext`);
    const subject = `/CN=${req.commonName}${req.organization ? `/O=${req.organization}` : ''}`;
    const usage = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[req.usage];
    const sans = [...(req.dns ?? []).map((d) => `DNS:${d}`), ...(req.ips ?? []).map((ip) => `IP:${ip}`)];
    writeFileSync(
      ext,
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${usage}`,
        ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
      ].join('\n'),
    );
    capture('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    capture('openssl', ['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
    capture('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      this.cert,
      '-CAkey',
      this.key,
      '-CAcreateserial',
      '-sha256',
      '-days',
      '825',
      '-extfile',
      ext,
      '-out',
      cert,
    ]);
    rmSync(csr);
    rmSync(ext);
    return { cert, key };
  }
}

/** An ECDSA signing key pair for service-account tokens. */
export function ensureSigningKey(dir: string, name: string): { key: string; pub: string } {
  const key = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  if (!existsSync(key)) {
    requireTool('openssl');
    capture('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    capture('openssl', ['ec', '-in', key, '-pubout', '-out', pub]);
  }
  return { key, pub };
}

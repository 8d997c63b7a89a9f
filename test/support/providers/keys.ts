// Key pairs for the public-key providers. SendGrid's keys come from starkbank-ecdsa, the ECDSA
// library @sendgrid/eventwebhook verifies with; the public key is given as SendGrid shows it (the
// base64 of the DER SubjectPublicKeyInfo). Discord's are Ed25519 keys from node:crypto, the public
// key as Discord shows it (64 hex digits).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

interface StarkPrivateKey {
  publicKey(): { toPem(): string };
}

// starkbank-ecdsa ships no types: the two calls used here, typed.
const ecdsa = createRequire(import.meta.url)('starkbank-ecdsa') as {
  PrivateKey: new () => StarkPrivateKey;
  Ecdsa: { sign(message: string, key: StarkPrivateKey): { toBase64(): string } };
};

export function ecdsaKeys(): { publicKeys: [string, string, string]; privateFor(publicKey: string): StarkPrivateKey } {
  const pairs = [new ecdsa.PrivateKey(), new ecdsa.PrivateKey(), new ecdsa.PrivateKey()];
  const base64Of = (pk: StarkPrivateKey) => pk.publicKey().toPem().replace(/-----[A-Z ]+-----|\s/g, '');
  const publicKeys = pairs.map(base64Of) as [string, string, string];
  return { publicKeys, privateFor: (pub) => pairs[publicKeys.indexOf(pub)]! };
}

export function sendgridSign(privateKey: StarkPrivateKey, message: string): string {
  return ecdsa.Ecdsa.sign(message, privateKey).toBase64();
}

export function ed25519Keys(): { publicKeys: [string, string, string]; privateFor(publicKey: string): KeyObject } {
  const pairs = [generateKeyPairSync('ed25519'), generateKeyPairSync('ed25519'), generateKeyPairSync('ed25519')];
  const hexOf = (k: KeyObject) => k.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
  const publicKeys = pairs.map((p) => hexOf(p.publicKey)) as [string, string, string];
  return { publicKeys, privateFor: (pub) => pairs[publicKeys.indexOf(pub)]!.privateKey };
}
